#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "contract/quantity.h"
#include "contract/validation.h"

namespace rr::contract {
namespace {

using kube::Json;

TEST(ContractValidationTest, Names) {
  struct Case {
    std::string text;
    bool dns_label, dns_subdomain, label_key, label_value;
  };
  const std::vector<Case> cases = {
      {"rr-system", true, true, true, true},
      {"a", true, true, true, true},
      {"", false, false, false, true},
      {"-a", false, false, false, false},
      {"a-", false, false, false, false},
      {"A", false, false, true, true},
      {"a.b", false, true, true, true},
      {"a_b", false, false, true, true},
      {"topology.kubernetes.io/rack", false, false, true, false},
      {"Topology.io/rack", false, false, false, false},
      {"/rack", false, false, false, false},
      {"a/b/c", false, false, false, false},
      {std::string(63, 'a'), true, true, true, true},
      {std::string(64, 'a'), false, false, false, false},
      {"it's", false, false, false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(is_dns_label(c.text), c.dns_label);
    EXPECT_EQ(is_dns_subdomain(c.text), c.dns_subdomain);
    EXPECT_EQ(is_label_key(c.text), c.label_key);
    EXPECT_EQ(is_label_value(c.text), c.label_value);
  }
}

TEST(ContractValidationTest, Addresses) {
  for (const char* good : {"0.0.0.0", "10.255.0.1", "255.255.255.255"}) EXPECT_TRUE(is_ipv4_address(good)) << good;
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", "1..2.3", "::1"}) {
    EXPECT_FALSE(is_ipv4_address(bad)) << bad;
  }
  for (const char* good : {"::1", "2001:db8::1", "fd00::", "::ffff:10.0.0.1"}) EXPECT_TRUE(is_ipv6_address(good)) << good;
  for (const char* bad : {"", "1.2.3.4", "2001:db8::1/64", "[::1]", "gggg::1", ":::"}) EXPECT_FALSE(is_ipv6_address(bad)) << bad;
  EXPECT_EQ(format_ipv4(*parse_ipv4("10.255.0.1")), "10.255.0.1");

  auto cidr = parse_ipv4_cidr("10.255.3.4/16");
  ASSERT_TRUE(cidr.has_value());
  EXPECT_EQ(format_ipv4(cidr->network), "10.255.0.0");
  EXPECT_EQ(cidr->prefix_length, 16);
  EXPECT_TRUE(cidr->host_bits_set);
  EXPECT_FALSE(parse_ipv4_cidr("10.255.0.0/16")->host_bits_set);
  EXPECT_TRUE(parse_ipv4_cidr("0.0.0.0/0").has_value());
  for (const char* bad : {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/1a"}) {
    EXPECT_FALSE(parse_ipv4_cidr(bad).has_value()) << bad;
  }
}

TEST(ContractQuantityTest, ComparesByValue) {
  struct Case {
    Json a, b;
    bool same;
  };
  const std::vector<Case> cases = {
      {"100m", "100m", true}, {"0.1", "100m", true},   {"1", 1, true},         {"1000m", "1", true},
      {"1Gi", "1024Mi", true}, {"0.5Gi", "512Mi", true}, {"1e3", "1k", true},  {"2000", "2k", true},
      {"1", "1.5", false},    {"1Gi", "1G", false},     {"64Mi", "64M", false}, {"x", "x", true},
      {"x", "y", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.a.dump() + " vs " + c.b.dump());
    EXPECT_EQ(same_quantity(c.a, c.b), c.same);
  }
  for (const char* bad : {"", "m", "1Ki1", "1KiB", "1 m", "1e", "e3", "1.2.3", "--1"}) {
    EXPECT_FALSE(parse_quantity(bad).has_value()) << bad;
  }
  EXPECT_EQ(parse_quantity("-1.5k"), -1500.0L);
  EXPECT_EQ(parse_quantity(".5"), 0.5L);
}

}  // namespace
}  // namespace rr::contract
