// ListPager: the continue-token walk both KubeClient::list_pages and RestKubeClient's
// read-ahead version follow.
#include "kube/list_pager.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kube {
namespace {

ObjectList page_of(std::vector<std::string> names, std::string token, std::string rv = "7") {
  ObjectList page;
  for (auto& n : names) page.items.push_back(Json{{"metadata", {{"name", n}}}});
  page.continue_token = std::move(token);
  page.resource_version = std::move(rv);
  return page;
}

struct Sink {
  std::vector<std::string> seen;  // "+name" for the first item of a restart
  KubeClient::PageSink fn() {
    return [this](std::vector<Json>&& items, bool restart) {
      for (const auto& item : items) seen.push_back((restart ? "+" : "") + name_of(item));
      if (items.empty() && restart) seen.push_back("+");
    };
  }
};

TEST(ListPager, FollowsTokensAndSaysWhichPageBeginsTheListing) {
  ListOptions first;
  first.limit = 2;
  first.label_selector = "a=b";
  ListPager pager(resources::leases(), first);
  Sink sink;
  EXPECT_TRUE(pager.options().continue_token.empty());
  auto more = pager.deliver(page_of({"a"}, "t1"), sink.fn());
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_EQ(pager.options().continue_token, "t1");
  EXPECT_EQ(pager.options().label_selector, "a=b") << "later pages keep the listing's options";
  EXPECT_TRUE(pager.seen("t1"));
  EXPECT_FALSE(pager.seen("t2"));
  auto last = pager.deliver(page_of({"b"}, "", "42"), sink.fn());
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(*last);
  EXPECT_EQ(**last, "42");
  EXPECT_EQ(sink.seen, (std::vector<std::string>{"+a", "b"}));
}

TEST(ListPager, AnExpiredTokenRestartsTheListingOnceOnly) {
  ListPager pager(resources::leases(), {});
  Sink sink;
  const Error gone = make_error(ErrorKind::Gone, "expired");
  EXPECT_FALSE(pager.restart_after(gone)) << "a 410 on the first page is the listing's error";
  ASSERT_TRUE(pager.deliver(page_of({"a"}, "t1"), sink.fn()).ok());
  EXPECT_FALSE(pager.restart_after(make_error(ErrorKind::Transient, "down"))) << "only a 410 restarts";
  EXPECT_TRUE(pager.restart_after(gone));
  EXPECT_TRUE(pager.options().continue_token.empty()) << "from the first page";
  EXPECT_FALSE(pager.seen("t1"));
  ASSERT_TRUE(pager.deliver(page_of({"a"}, "t2"), sink.fn()).ok());
  EXPECT_FALSE(pager.restart_after(gone)) << "a second expiry in one listing is an error";
  EXPECT_EQ(sink.seen, (std::vector<std::string>{"+a", "+a"}));
}

TEST(ListPager, ATokenGivenTwiceEndsTheListingWithAProtocolError) {
  ListPager pager(resources::leases(), {});
  Sink sink;
  ASSERT_TRUE(pager.deliver(page_of({"a"}, "t1"), sink.fn()).ok());
  ASSERT_TRUE(pager.deliver(page_of({"b"}, "t2"), sink.fn()).ok());
  auto again = pager.deliver(page_of({"c"}, "t1"), sink.fn());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::Protocol);
  EXPECT_NE(again.error().message.find("\"t1\" twice"), std::string::npos) << again.error().message;
}

}  // namespace
}  // namespace kube
