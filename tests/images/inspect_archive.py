#!/usr/bin/env python3
"""Prints facts about a docker-archive (as `buildah push ... docker-archive:` writes it),
one `key=value` per line, reading the archive itself rather than the builder's store:
its tags, its configured user and entrypoint, whether some paths exist once the layers
are stacked (whiteouts applied), how many man pages it holds, and the file capabilities
of /usr/sbin/bird decoded from the layer's security.capability xattr."""
import json
import struct
import sys
import tarfile

PATHS = ["/usr/local/bin/rr-operator", "/usr/local/bin/rr-agent", "/usr/sbin/bird", "/usr/bin/g++", "/src"]
CAPABILITY_FILES = ["/usr/sbin/bird"]
CAP_NAMES = {10: "cap_net_bind_service", 12: "cap_net_admin", 13: "cap_net_raw", 21: "cap_sys_admin"}
VFS_CAP_FLAGS_EFFECTIVE = 0x000001


def normalize(name):
    if name.startswith("./"):
        name = name[2:]
    return "/" + name.strip("/")


def stack_layers(archive, layer_names):
    """Returns {path: TarInfo} of the image's filesystem after applying every layer."""
    files = {}
    for layer_name in layer_names:
        with tarfile.open(fileobj=archive.extractfile(layer_name), mode="r|*") as layer:
            for member in layer:
                path = normalize(member.name)
                directory, _, base = path.rpartition("/")
                if base == ".wh..wh..opq":
                    for p in [p for p in files if p.startswith(directory + "/")]:
                        del files[p]
                elif base.startswith(".wh."):
                    gone = directory + "/" + base[len(".wh."):]
                    for p in [p for p in files if p == gone or p.startswith(gone + "/")]:
                        del files[p]
                else:
                    files[path] = member
    return files


def describe_capability(member):
    raw = member.pax_headers.get("SCHILY.xattr.security.capability")
    if raw is None:
        return "none"
    data = raw.encode("utf-8", "surrogateescape")
    magic, permitted, inheritable = struct.unpack_from("<III", data)
    permitted_high = struct.unpack_from("<I", data, 12)[0] if len(data) >= 16 else 0
    mask = permitted | (permitted_high << 32)
    names = [CAP_NAMES.get(bit, f"cap_{bit}") for bit in range(64) if mask >> bit & 1]
    text = ",".join(names) + "+" + ("e" if magic & VFS_CAP_FLAGS_EFFECTIVE else "") + ("p" if mask else "")
    if inheritable:
        text += f" inheritable={inheritable:#x}"
    return text


def main(path):
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        if len(manifest) != 1:
            raise SystemExit(f"{path}: expected one image, found {len(manifest)}")
        image = manifest[0]
        config = json.load(archive.extractfile(image["Config"]))["config"]
        files = stack_layers(archive, image["Layers"])
    print("tags=" + ",".join(image.get("RepoTags") or []))
    print("user=" + config.get("User", ""))
    print("entrypoint=" + json.dumps(config.get("Entrypoint")))
    print(f"layers={len(image['Layers'])}")
    for p in PATHS:
        print(f"file:{p}=" + ("present" if p in files else "absent"))
    man = sum(1 for p, m in files.items() if p.startswith("/usr/share/man/") and not m.isdir())
    print(f"man-pages={man}")
    for p in CAPABILITY_FILES:
        if p in files:
            print(f"cap:{p}=" + describe_capability(files[p]))


if __name__ == "__main__":
    main(sys.argv[1])
