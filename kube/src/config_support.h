#pragma once
// Small helpers shared by the config loaders and FileTokenSource: file reads
// with errno text, base64, and PEM checks (OpenSSL stays behind this header).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "kube/result.h"

namespace kube::detail {

// The whole file. BadConfig "cannot read <path>: <reason>" on failure.
Result<std::string> read_file(const std::filesystem::path& path);

std::string trim(std::string_view s);

// Standard alphabet; whitespace is skipped, padding is optional. nullopt when
// the input is not base64.
std::optional<std::string> decode_base64(std::string_view in);

// Each returns nullopt when the PEM parses, else a short reason.
std::optional<std::string> check_pem_certificates(std::string_view pem);  // one or more certificates
std::optional<std::string> check_pem_private_key(std::string_view pem);
std::optional<std::string> check_key_matches_certificate(std::string_view cert_pem, std::string_view key_pem);

// The part of an https:// URL after the scheme ("host:port/path"): nullopt when
// it names a host (a DNS name, an IPv4 address, or an IPv6 address in brackets)
// and at most a port 1..65535 and a path; else a short reason. Never echoes user
// information (credentials) written into the URL.
std::optional<std::string> check_https_authority(std::string_view after_scheme);

}  // namespace kube::detail
