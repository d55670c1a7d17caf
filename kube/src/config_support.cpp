#include "config_support.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

namespace kube::detail {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr memory_bio(std::string_view data) { return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size()))); }

// Encrypted keys must fail, not prompt on the terminal.
int no_password(char*, int, int, void*) { return 0; }

// The first queued OpenSSL reason, and an empty queue for the next caller.
std::string openssl_reason() {
  unsigned long code = ERR_peek_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? std::string(" (") + reason + ")" : std::string();
}

X509Ptr read_certificate(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
}

PkeyPtr read_private_key(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

Result<std::string> read_file(const std::filesystem::path& path) {
  auto fail = [&](const std::string& reason) {
    return make_error(ErrorKind::BadConfig, "cannot read " + path.string() + ": " + reason);
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return fail("is a directory");
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return fail(std::strerror(errno));
  std::string out;
  char buf[8192];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file.get())) > 0) out.append(buf, n);
  if (std::ferror(file.get())) return fail(std::strerror(errno));
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::string> decode_base64(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  size_t symbols = 0;
  size_t padding = 0;
  for (char c : in) {
    if (is_space(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return std::nullopt;  // data after padding
    int v = base64_value(c);
    if (v < 0) return std::nullopt;
    acc = ((acc << 6) | static_cast<uint32_t>(v)) & 0xFFFFFu;
    bits += 6;
    ++symbols;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFFu));
    }
  }
  if (symbols % 4 == 1) return std::nullopt;  // a lone 6-bit symbol encodes nothing
  if (padding > 2 || (padding > 0 && (symbols + padding) % 4 != 0)) return std::nullopt;
  return out;
}

std::optional<std::string> check_pem_certificates(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  if (!bio) return "out of memory";
  int count = 0;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr)}) ++count;
  // Reading past the last certificate always leaves "no start line" queued.
  std::string reason = openssl_reason();
  if (count == 0) return "not a PEM certificate" + reason;
  return std::nullopt;
}

std::optional<std::string> check_pem_private_key(std::string_view pem) {
  // OpenSSL's reason here ("unsupported") misleads more than it helps.
  bool ok = read_private_key(pem) != nullptr;
  ERR_clear_error();
  if (!ok) return "not a PEM private key (or one protected by a passphrase)";
  return std::nullopt;
}

std::optional<std::string> check_key_matches_certificate(std::string_view cert_pem, std::string_view key_pem) {
  X509Ptr cert = read_certificate(cert_pem);
  PkeyPtr key = read_private_key(key_pem);
  bool match = cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  if (!match) return "the private key does not match the certificate's public key";
  return std::nullopt;
}

std::optional<std::string> check_https_authority(std::string_view rest) {
  if (rest.find_first_of("?#") != std::string_view::npos) return "has a query or fragment; a server URL has neither";
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string_view::npos) {
    return "has user information before '@'; credentials belong in users[], not in the URL";
  }
  if (authority.empty()) return "has no host";
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "opens '[' for an IPv6 address but never closes it";
    host = authority.substr(1, close - 1);
    in6_addr v6{};
    if (::inet_pton(AF_INET6, std::string(host).c_str(), &v6) != 1) {
      return "\"" + std::string(host) + "\" in brackets is not an IPv6 address";
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "has \"" + std::string(after) + "\" after the IPv6 address; expected :port";
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos) {
      return "has several ':' in its host; an IPv6 address is written in brackets, [addr]:port";
    }
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return "has no host";
    for (char c : host) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
        return "host \"" + std::string(host) + "\" is not a host name or address";
      }
    }
  }
  if (port) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
    if (port->empty() || ec != std::errc() || end != port->data() + port->size() || value < 1 || value > 65535) {
      return "port \"" + std::string(*port) + "\" is not a number in 1..65535";
    }
  }
  return std::nullopt;
}

}  // namespace kube::detail
