#include "agent/lease_keeper.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include "contract/well_known.h"
#include "kube/resource_type.h"

namespace rr::agent {
namespace {

// Annotations are small and end up in `kubectl describe`: BIRD's message is
// cut and reduced to printable ASCII.
constexpr std::size_t kMaxConfigErrorLength = 1024;

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxConfigErrorLength));
  for (char ch : text) {
    if (out.size() >= kMaxConfigErrorLength) break;
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(c >= 0x20 && c <= 0x7e ? ch : ' ');
  }
  return out;
}

kube::Json& object_at(kube::Json& parent, const char* field) {
  kube::Json& child = parent[field];
  if (!child.is_object()) child = kube::Json::object();
  return child;
}

std::string string_at(const kube::Json& object, const char* field) {
  auto it = object.find(field);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

LeaseKeeper::LeaseKeeper(kube::KubeClient& client, AgentIdentity self, kube::Clock& clock,
                         kube::RandomSource random)
    : client_(client), self_(std::move(self)), clock_(clock), random_(std::move(random)) {}

kube::Clock::Duration LeaseKeeper::renew_period() const {
  return std::chrono::duration_cast<kube::Clock::Duration>(std::chrono::seconds(self_.lease_duration_seconds)) / 3;
}

kube::Json LeaseKeeper::desired(const kube::Json& base, const LeaseReport& report) const {
  const auto& leases = kube::resources::leases();
  kube::Json lease = base.is_object() ? base : kube::Json::object();
  lease["apiVersion"] = leases.api_version();
  lease["kind"] = leases.kind;

  kube::Json& metadata = object_at(lease, "metadata");
  metadata["name"] = self_.pod;
  metadata["namespace"] = self_.ns;
  kube::Json& labels = object_at(metadata, "labels");
  labels[std::string(contract::kNameLabel)] = std::string(contract::kNameValue);
  labels[std::string(contract::kManagedByLabel)] = std::string(contract::kManagedByValue);
  labels[std::string(contract::kClusterLabel)] = self_.fabric;
  labels[std::string(contract::kRackLabel)] = self_.rack;
  kube::Json& annotations = object_at(metadata, "annotations");
  annotations[std::string(contract::kAddressAnnotation)] = self_.address;
  if (self_.address_v6.empty()) {
    annotations.erase(std::string(contract::kAddressV6Annotation));
  } else {
    annotations[std::string(contract::kAddressV6Annotation)] = self_.address_v6;
  }
  annotations[std::string(contract::kPortAnnotation)] = std::to_string(self_.port);
  annotations[std::string(contract::kRackAnnotation)] = self_.rack;
  annotations[std::string(contract::kClusterIdAnnotation)] = self_.cluster_id;
  // Tiers: set only when there is something to say, so a flat fabric's Leases read as before.
  auto set_or_erase = [&](std::string_view key, const std::string& value) {
    if (value.empty()) {
      annotations.erase(std::string(key));
    } else {
      annotations[std::string(key)] = value;
    }
  };
  set_or_erase(contract::kTierAnnotation, self_.tier == contract::Tier::Top ? "top" : "");
  set_or_erase(contract::kZoneAnnotation, report.zone);
  std::string upstream;
  for (const auto& name : report.upstream) upstream += (upstream.empty() ? "" : ",") + name;
  set_or_erase(contract::kUpstreamAnnotation, upstream);
  set_or_erase(contract::kObservedGenerationAnnotation,
               report.observed_generation > 0 ? std::to_string(report.observed_generation) : "");
  annotations[std::string(contract::kSessionsEstablishedAnnotation)] = std::to_string(report.sessions_established);
  annotations[std::string(contract::kSessionsTotalAnnotation)] = std::to_string(report.sessions_total);
  if (report.config_error.empty()) {
    annotations.erase(std::string(contract::kConfigErrorAnnotation));
  } else {
    annotations[std::string(contract::kConfigErrorAnnotation)] = printable(report.config_error);
  }

  const bool existed = lease.contains("spec") && lease["spec"].is_object();
  kube::Json& spec = object_at(lease, "spec");
  const std::string now = kube::format_micro_time(clock_.wall_now());
  // client-go's rule: any change of holder, even from "", is a transition.
  // A predecessor of the same name (another UID) hands over here too.
  const bool takeover = existed && string_at(spec, "holderIdentity") != self_.lease_holder();
  long long transitions = 0;
  if (auto it = spec.find("leaseTransitions"); it != spec.end() && it->is_number_integer()) {
    transitions = it->get<long long>();
  }
  spec["holderIdentity"] = self_.lease_holder();
  spec["leaseDurationSeconds"] = self_.lease_duration_seconds;
  spec["renewTime"] = now;
  if (takeover || !spec.contains("acquireTime")) spec["acquireTime"] = now;
  spec["leaseTransitions"] = takeover ? transitions + 1 : transitions;
  return lease;
}

kube::Result<kube::Json> LeaseKeeper::write(const LeaseReport& report) {
  const auto& leases = kube::resources::leases();
  bool retried = false;
  if (last_written_) {
    auto updated = client_.update(leases, desired(*last_written_, report));
    if (updated) return updated;
    // Anything but a stale copy is the API's problem: no second request.
    if (!updated.is(kube::ErrorKind::Conflict) && !updated.is(kube::ErrorKind::NotFound)) return updated;
    last_written_.reset();
    retried = true;
  }
  for (;;) {
    auto current = client_.get(leases, self_.ns, self_.pod);
    if (current.is(kube::ErrorKind::NotFound)) {
      kube::Json fresh = {{"metadata", {{"name", self_.pod}, {"namespace", self_.ns}}}};
      auto created = client_.create(leases, self_.ns, desired(fresh, report));
      if (created || !created.is(kube::ErrorKind::AlreadyExists) || retried) return created;
      retried = true;
      continue;
    }
    if (!current) return current.error();
    auto updated = client_.update(leases, desired(*current, report));
    if (updated || !updated.is(kube::ErrorKind::Conflict) || retried) return updated;
    retried = true;
  }
}

kube::Status LeaseKeeper::renew(const LeaseReport& report) {
  std::lock_guard renewing(renew_mu_);
  // Alive for a duration from when the write was sent: the operator sees it no earlier.
  const auto started = clock_.now();
  kube::Status status;
  try {
    auto written = write(report);
    if (written) {
      last_written_ = std::move(*written);
    } else {
      status = written.error();
    }
  } catch (const std::exception& e) {  // a client that breaks its no-throw promise must not kill the heartbeat
    last_written_.reset();
    status = kube::make_error(kube::ErrorKind::Transient, std::string("lease renewal: ") + e.what());
  }
  std::function<void(bool, const kube::Error*)> on_result;
  {
    std::lock_guard lock(mu_);
    if (status.ok()) {
      last_ok_ = started;
      ++ok_;
    } else {
      ++failed_;
    }
    on_result = on_result_;
  }
  if (on_result) on_result(status.ok(), status.ok() ? nullptr : &status.error());
  return status;
}

void LeaseKeeper::run(const std::function<LeaseReport()>& report, std::stop_token stop) {
  const auto period = renew_period();
  kube::Backoff backoff({.initial = period / 10, .max = period, .factor = 2.0, .jitter = 0.2}, random_);
  LeaseReport last;
  while (!stop.stop_requested()) {
    try {
      if (report) last = report();
    } catch (const std::exception&) {
      // Liveness does not depend on the session counts: renew with the last ones.
    }
    auto delay = period;
    if (renew(last)) {
      backoff.reset();
    } else {
      delay = std::min(backoff.next(), period);
    }
    if (!clock_.sleep_for(delay, stop)) return;
  }
}

bool LeaseKeeper::renewed_within(kube::Clock::Duration window) const {
  std::lock_guard lock(mu_);
  return last_ok_ && clock_.now() - *last_ok_ < window;
}

bool LeaseKeeper::healthy() const {
  const auto now = clock_.now();
  std::lock_guard lock(mu_);
  return last_ok_ && now - *last_ok_ < std::chrono::seconds(self_.lease_duration_seconds);
}

int LeaseKeeper::renewals_ok() const {
  std::lock_guard lock(mu_);
  return ok_;
}

int LeaseKeeper::renewals_failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

void LeaseKeeper::set_on_result(std::function<void(bool ok, const kube::Error* error)> on_result) {
  std::lock_guard lock(mu_);
  on_result_ = std::move(on_result);
}

}  // namespace rr::agent
