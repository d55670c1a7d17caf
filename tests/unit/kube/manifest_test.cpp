// Manifests as users write them for kubectl apply -f: YAML or JSON, one or more documents.
#include "kube/manifest.h"

#include <gtest/gtest.h>

namespace kube {
namespace {

TEST(ManifestTest, PlainScalarsTakeTheirTypesAndQuotedOnesStayStrings) {
  auto docs = parse_manifests(
      "kind: RouteReflectorCluster\n"
      "spec:\n"
      "  asNumber: 64512\n"
      "  manageNodeToNodeMesh: false\n"
      "  weight: 1.5\n"
      "  nothing: ~\n"
      "  quoted: \"64512\"\n"
      "  octal: 0o17\n"
      "  list: [a, 2]\n");
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  ASSERT_EQ(docs->size(), 1u);
  const Json& spec = (*docs)[0]["spec"];
  EXPECT_EQ(spec["asNumber"], 64512);
  EXPECT_EQ(spec["manageNodeToNodeMesh"], false);
  EXPECT_DOUBLE_EQ(spec["weight"].get<double>(), 1.5);
  EXPECT_TRUE(spec["nothing"].is_null());
  EXPECT_EQ(spec["quoted"], "64512");
  EXPECT_EQ(spec["octal"], 15);
  EXPECT_EQ(spec["list"], Json::array({"a", 2}));
}

TEST(ManifestTest, EveryDocumentInOrderAndJsonToo) {
  auto docs = parse_manifests("---\na: 1\n---\n# only a comment\n---\n{\"b\": [true]}\n");
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0], Json({{"a", 1}}));
  EXPECT_EQ((*docs)[1], Json({{"b", {true}}}));
}

TEST(ManifestTest, AnErrorNamesTheLine) {
  auto docs = parse_manifests("a: 1\nb: [unclosed\nc: 2\n");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.error().kind, ErrorKind::Invalid);
  EXPECT_NE(docs.error().message.find("line "), std::string::npos) << docs.error().message;
}

TEST(ManifestTest, YamlOutReadsBackAsTheSameJson) {
  Json value = {{"name", "rack-1"},
                {"clusterID", "10.0.0.1"},
                {"looksLikeANumber", "64512"},
                {"looksLikeABool", "true"},
                {"count", 3},
                {"ready", false},
                {"none", nullptr},
                {"items", Json::array({Json{{"k", "v"}}, "x"})}};
  auto back = parse_manifests(to_yaml(value));
  ASSERT_TRUE(back.ok()) << back.error().message << "\n" << to_yaml(value);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0], value) << to_yaml(value);
}

TEST(ParseTimeTest, TheFormsTheApiWritesAndOffsets) {
  using std::chrono::system_clock;
  auto t = parse_time("2026-12-04T10:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_time(*t), "2026-12-04T10:00:00Z");
  auto micro = parse_time("2026-12-04T10:00:00.123456Z");
  ASSERT_TRUE(micro);
  EXPECT_EQ(format_micro_time(*micro), "2026-12-04T10:00:00.123456Z");
  EXPECT_EQ(*micro - *t, std::chrono::microseconds(123456));
  auto offset = parse_time("2026-12-04T11:30:00+01:30");
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, *t);
  for (const char* bad : {"", "yesterday", "2026-12-04", "2026-13-04T10:00:00Z", "2026-12-04T10:00:00",
                          "2026-12-04T10:00:00.Z", "2026-12-04T10:00:00Zjunk"}) {
    EXPECT_FALSE(parse_time(bad)) << bad;
  }
}

}  // namespace
}  // namespace kube
