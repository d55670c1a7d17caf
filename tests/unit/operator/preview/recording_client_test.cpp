// The preview's client: reads see the API with the previewed objects laid over it; writes are
// recorded and never reach the API; watches stay quiet until cancelled.
#include "preview/recording_client.h"

#include <gtest/gtest.h>

#include <thread>

#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"

namespace rr::preview {
namespace {

using kube::Json;

Json node(const std::string& name, const std::string& rack) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", {{"rack", rack}}}}}};
}

class RecordingKubeClientTest : public ::testing::Test {
 protected:
  kube::testing::FakeClock clock_;
  kube::testing::FakeKubeClient api_{clock_};
  RecordingKubeClient client_{api_};
};

TEST_F(RecordingKubeClientTest, AnOverlayReplacesItsNamesakeAndJoinsTheListOtherwise) {
  api_.seed(kube::resources::nodes(), node("a", "r1"));
  api_.seed(kube::resources::nodes(), node("b", "r1"));
  client_.overlay(kube::resources::nodes(), node("b", "r2"));
  client_.overlay(kube::resources::nodes(), node("c", "r3"));
  auto listed = client_.list(kube::resources::nodes(), "", {});
  ASSERT_TRUE(listed.ok());
  std::map<std::string, std::string> racks;
  for (const auto& n : listed->items) racks[kube::name_of(n)] = n["metadata"]["labels"].value("rack", "");
  EXPECT_EQ(racks, (std::map<std::string, std::string>{{"a", "r1"}, {"b", "r2"}, {"c", "r3"}}));
  auto got = client_.get(kube::resources::nodes(), "", "c");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(kube::name_of(*got), "c");
  EXPECT_TRUE(client_.get(kube::resources::nodes(), "", "d").is(kube::ErrorKind::NotFound));
}

TEST_F(RecordingKubeClientTest, OverlaysAnswerLabelSelectorsAndHiddenObjectsAreGone) {
  api_.seed(kube::resources::nodes(), node("a", "r1"));
  api_.seed(kube::resources::nodes(), node("b", "r1"));
  client_.overlay(kube::resources::nodes(), node("c", "r2"));
  client_.hide(kube::resources::nodes(), "", "a");
  kube::ListOptions in_r2;
  in_r2.label_selector = "rack=r2";
  auto r2 = client_.list(kube::resources::nodes(), "", in_r2);
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->items.size(), 1u);
  EXPECT_EQ(kube::name_of(r2->items[0]), "c");
  kube::ListOptions not_r2;
  not_r2.label_selector = "rack!=r2,rack";
  auto others = client_.list(kube::resources::nodes(), "", not_r2);
  ASSERT_TRUE(others.ok());
  ASSERT_EQ(others->items.size(), 1u) << "a is hidden, c is r2";
  EXPECT_EQ(kube::name_of(others->items[0]), "b");
  EXPECT_TRUE(client_.get(kube::resources::nodes(), "", "a").is(kube::ErrorKind::NotFound));
}

TEST_F(RecordingKubeClientTest, WritesAreRecordedInOrderAndNeverSent) {
  api_.seed(kube::resources::nodes(), node("a", "r1"));
  Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}, {"namespace", "ns"}}}};
  ASSERT_TRUE(client_.create(kube::resources::pods(), "ns", pod).ok());
  kube::PatchOptions status;
  status.status = true;
  ASSERT_TRUE(client_.patch(kube::resources::nodes(), "", "a", kube::PatchType::Merge, Json{{"x", 1}}, status).ok());
  ASSERT_TRUE(client_.remove(kube::resources::nodes(), "", "a", {}).ok());
  auto writes = client_.writes();
  ASSERT_EQ(writes.size(), 3u);
  EXPECT_EQ(writes[0].verb, "create");
  EXPECT_EQ(writes[0].type.kind, "Pod");
  EXPECT_EQ(writes[0].body, pod);
  EXPECT_EQ(writes[1].verb, "patch");
  EXPECT_TRUE(writes[1].status);
  EXPECT_EQ(writes[2].verb, "delete");
  EXPECT_EQ(writes[2].name, "a");
  // The API saw none of it.
  EXPECT_TRUE(api_.get(kube::resources::pods(), "ns", "p").is(kube::ErrorKind::NotFound));
  EXPECT_TRUE(api_.get(kube::resources::nodes(), "", "a").ok());
}

TEST_F(RecordingKubeClientTest, AWatchSaysNothingUntilCancelled) {
  auto stream = client_.watch(kube::resources::nodes(), "", {});
  ASSERT_TRUE(stream.ok());
  api_.seed(kube::resources::nodes(), node("a", "r1"));  // the API moves on; the preview does not
  std::thread cancel([&] { (*stream)->cancel(); });
  auto next = (*stream)->next();
  cancel.join();
  EXPECT_TRUE(next.is(kube::ErrorKind::Cancelled));
}

}  // namespace
}  // namespace rr::preview
