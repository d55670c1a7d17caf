// The controller's writes stop the moment its replica stops leading; its reads go on.
#include "controller/leading_client.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"

namespace rr::controller {
namespace {

using kube::Json;

Json secret(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", name}, {"namespace", "ns"}}}};
}

TEST(LeadingClient, WritesPassUntilClosedThenNoneReachesTheApi) {
  kube::testing::FakeClock clock;
  kube::testing::FakeKubeClient api{clock};
  LeadingClient client(api);
  const auto& cms = kube::resources::secrets();
  ASSERT_TRUE(client.create(cms, "ns", secret("a")).ok());
  const int writes_while_leading = api.writes();
  EXPECT_GE(writes_while_leading, 1);

  client.close();
  EXPECT_FALSE(client.open());
  auto created = client.create(cms, "ns", secret("b"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().kind, kube::ErrorKind::Cancelled);
  EXPECT_NE(created.error().message.find("not leading"), std::string::npos) << created.error().message;
  auto existing = client.get(cms, "ns", "a");
  ASSERT_TRUE(existing.ok()) << "reads go on";
  EXPECT_FALSE(client.update(cms, *existing).ok());
  EXPECT_FALSE(client.update_status(cms, *existing).ok());
  EXPECT_FALSE(client.patch(cms, "ns", "a", kube::PatchType::Merge, Json{{"data", {{"k", "v"}}}}, {}).ok());
  EXPECT_FALSE(client.remove(cms, "ns", "a", {}).ok());
  EXPECT_EQ(api.writes(), writes_while_leading) << "nothing was sent after close()";
  EXPECT_TRUE(api.get(cms, "ns", "a").ok()) << "the delete never reached the API";
  EXPECT_FALSE(api.get(cms, "ns", "b").ok());
}

}  // namespace
}  // namespace rr::controller
