#include "bird/ip_literal.h"

#include <arpa/inet.h>

#include <array>

namespace rr::bird {

std::pair<Family, std::string> parse_ip(const std::string& text) {
  std::array<unsigned char, 16> buf{};
  std::array<char, INET6_ADDRSTRLEN> out{};
  if (inet_pton(AF_INET, text.c_str(), buf.data()) == 1 &&
      inet_ntop(AF_INET, buf.data(), out.data(), out.size()) != nullptr) {
    return {Family::V4, out.data()};
  }
  if (inet_pton(AF_INET6, text.c_str(), buf.data()) == 1 &&
      inet_ntop(AF_INET6, buf.data(), out.data(), out.size()) != nullptr) {
    return {Family::V6, out.data()};
  }
  return {Family::None, text};
}

}  // namespace rr::bird
