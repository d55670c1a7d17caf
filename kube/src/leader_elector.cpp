#include "kube/leader_elector.h"

#include <stdexcept>
#include <thread>

#include "kube/object.h"
#include "kube/resource_type.h"

namespace kube {
namespace {

// client-go's JitterFactor: acquire retries wait retry_period x [1, 2.2).
constexpr double kJitterFactor = 1.2;

Error invalid(const std::string& message) { return make_error(ErrorKind::Invalid, "leader election: " + message); }

const Json& spec_of(const Json& lease) {
  static const Json empty = Json::object();
  auto it = lease.find("spec");
  return it != lease.end() && it->is_object() ? *it : empty;
}

std::string holder_of(const Json& lease) {
  const Json& spec = spec_of(lease);
  auto it = spec.find("holderIdentity");
  return it != spec.end() && it->is_string() ? it->get<std::string>() : std::string();
}

long long spec_int(const Json& lease, const char* field, long long fallback) {
  const Json& spec = spec_of(lease);
  auto it = spec.find(field);
  return it != spec.end() && it->is_number_integer() ? it->get<long long>() : fallback;
}

}  // namespace

Status validate(const LeaderElectionConfig& c) {
  using std::chrono::seconds;
  if (c.lease_namespace.empty()) return invalid("lease_namespace: required");
  if (c.lease_name.empty()) return invalid("lease_name: required");
  if (c.identity.empty()) return invalid("identity: required");
  if (c.lease_duration <= Clock::Duration::zero()) return invalid("lease_duration: must be greater than zero");
  if (c.renew_deadline <= Clock::Duration::zero()) return invalid("renew_deadline: must be greater than zero");
  if (c.retry_period <= Clock::Duration::zero()) return invalid("retry_period: must be greater than zero");
  if (c.lease_duration % seconds(1) != Clock::Duration::zero()) {
    return invalid("lease_duration: must be a whole number of seconds (the Lease stores seconds)");
  }
  if (c.lease_duration <= c.renew_deadline) return invalid("lease_duration: must be greater than renew_deadline");
  if (std::chrono::duration<double>(c.renew_deadline) <=
      kJitterFactor * std::chrono::duration<double>(c.retry_period)) {
    return invalid("renew_deadline: must be greater than 1.2 x retry_period");
  }
  if (!c.on_started_leading) return invalid("on_started_leading: required");
  if (!c.on_stopped_leading) return invalid("on_stopped_leading: required");
  return {};
}

// One term of leadership. The renew loop runs on run()'s thread; a watchdog
// thread enforces the renew deadline even while an API call hangs.
struct LeaderElector::Leading {
  std::stop_source leading;   // handed to on_started_leading
  std::stop_source halt;      // ends the renew loop and the watchdog
  Clock::TimePoint deadline;  // guarded by mu_: last good renew + renew_deadline
  bool ended = false;         // guarded by mu_: leadership has been given up
};

LeaderElector::LeaderElector(KubeClient& client, LeaderElectionConfig config, Clock& clock, RandomSource random)
    : client_(client), config_(std::move(config)), clock_(clock), random_(std::move(random)) {
  if (auto ok = validate(config_); !ok) throw std::invalid_argument(ok.error().message);
}

void LeaderElector::set_on_error(std::function<void(const Error&)> on_error) {
  std::lock_guard lock(mu_);
  on_error_ = std::move(on_error);
}

bool LeaderElector::is_leader() const {
  std::lock_guard lock(mu_);
  return leading_;
}

std::string LeaderElector::observed_leader() const {
  std::lock_guard lock(mu_);
  return observed_holder_;
}

void LeaderElector::run(std::stop_token stop) {
  Watchdog::Loop heartbeat = config_.watchdog ? config_.watchdog->watch("leader election") : Watchdog::Loop();
  Clock::TimePoint acquired_at;
  if (acquire(stop, acquired_at, heartbeat)) {
    lead(stop, acquired_at, heartbeat);
  } else {
    config_.on_stopped_leading();
  }
}

bool LeaderElector::acquire(std::stop_token stop, Clock::TimePoint& acquired_at, Watchdog::Loop& heartbeat) {
  while (!stop.stop_requested()) {
    auto started = clock_.now();
    auto attempt = try_acquire_or_renew(/*renewing=*/false, stop);
    heartbeat.beat();
    report_transition();
    if (attempt == Attempt::Acquired) {
      acquired_at = started;
      return true;
    }
    double jitter = random_ ? random_() : 0.0;
    auto delay = std::chrono::duration_cast<Clock::Duration>(config_.retry_period * (1.0 + kJitterFactor * jitter));
    if (!clock_.sleep_for(delay, stop)) return false;
  }
  return false;
}

void LeaderElector::lead(std::stop_token stop, Clock::TimePoint acquired_at, Watchdog::Loop& heartbeat) {
  Leading term;
  {
    std::lock_guard lock(mu_);
    term.deadline = acquired_at + config_.renew_deadline;
    leading_ = true;
  }
  std::stop_callback halt_on_stop(stop, [&term] { term.halt.request_stop(); });
  std::jthread worker([this, token = term.leading.get_token()] { config_.on_started_leading(token); });
  std::jthread watchdog([this, &term] { watch_deadline(term); });

  while (clock_.sleep_for(config_.retry_period, term.halt.get_token())) {
    // The deadline runs from when the renewal was sent: others observe it no earlier.
    auto started = clock_.now();
    auto attempt = try_acquire_or_renew(/*renewing=*/true, term.halt.get_token());
    heartbeat.beat();
    report_transition();
    if (attempt == Attempt::Acquired) {
      std::lock_guard lock(mu_);
      if (!term.ended) term.deadline = started + config_.renew_deadline;
    } else if (attempt == Attempt::HeldByOther) {
      stop_leading(term);  // someone else holds it: we are not the leader, whatever the deadline says
      break;
    }
  }

  term.halt.request_stop();
  watchdog.join();
  bool clean_stop = false;
  {
    std::lock_guard lock(mu_);
    if (!term.ended) {
      term.ended = true;
      leading_ = false;
      clean_stop = true;
    }
  }
  if (!clean_stop) {  // lost: on_stopped_leading has run already
    worker.join();
    return;
  }
  term.leading.request_stop();
  // Release only once the guarded work has finished, or a standby could start alongside it.
  worker.join();
  if (config_.release_on_cancel) release();
  config_.on_stopped_leading();
}

void LeaderElector::watch_deadline(Leading& term) {
  auto halt = term.halt.get_token();
  for (;;) {
    Clock::TimePoint deadline;
    {
      std::lock_guard lock(mu_);
      deadline = term.deadline;
    }
    if (!clock_.sleep_until(deadline, halt)) return;
    {
      std::lock_guard lock(mu_);
      if (term.ended) return;
      if (clock_.now() < term.deadline) continue;  // renewed meanwhile
    }
    stop_leading(term);
    return;
  }
}

void LeaderElector::stop_leading(Leading& term) {
  {
    std::lock_guard lock(mu_);
    if (term.ended) return;
    term.ended = true;
    leading_ = false;
  }
  term.halt.request_stop();
  term.leading.request_stop();
  config_.on_stopped_leading();
}

// client-go's tryAcquireOrRenew. `stop` is checked before each call, so a
// leader that stepped down while a call hung writes nothing more.
LeaderElector::Attempt LeaderElector::try_acquire_or_renew(bool renewing, std::stop_token stop) {
  const auto& leases = resources::leases();

  // 1. Fast path for a leader: update the record we wrote last, assuming it is current.
  Json cached;
  {
    std::lock_guard lock(mu_);
    if (renewing && observed_holder_ == config_.identity && observed_valid_locked(clock_.now())) {
      cached = observed_lease_;
    }
  }
  if (!cached.is_null()) {
    auto updated = client_.update(leases, make_lease(cached, /*keep_acquire=*/true));
    if (updated) {
      observe(*updated);
      return Attempt::Acquired;
    }
    report(updated.error());  // fall back to reading the record
  }

  // 2. Read the record, or create it.
  if (stop.stop_requested()) return Attempt::Failed;
  auto got = client_.get(leases, config_.lease_namespace, config_.lease_name);
  if (!got) {
    if (!got.is(ErrorKind::NotFound)) {
      report(got.error());
      return Attempt::Failed;
    }
    Json fresh = {{"apiVersion", leases.api_version()},
                  {"kind", leases.kind},
                  {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}}};
    if (stop.stop_requested()) return Attempt::Failed;
    auto created = client_.create(leases, config_.lease_namespace, make_lease(fresh, /*keep_acquire=*/false));
    if (!created) {
      report(created.error());  // AlreadyExists: another candidate was faster
      return Attempt::Failed;
    }
    observe(*created);
    return Attempt::Acquired;
  }

  // 3. Held by someone else and not expired in our own observation?
  observe(*got);
  const std::string holder = holder_of(*got);
  if (holder != config_.identity) {
    if (renewing) return Attempt::HeldByOther;
    std::lock_guard lock(mu_);
    if (!holder.empty() && observed_valid_locked(clock_.now())) return Attempt::HeldByOther;
  }

  // 4. Take it over or renew it, as a compare-and-swap on the resourceVersion we read.
  if (stop.stop_requested()) return Attempt::Failed;
  auto updated = client_.update(leases, make_lease(*got, /*keep_acquire=*/holder == config_.identity));
  if (!updated) {
    report(updated.error());  // Conflict: someone wrote it since we read it
    return Attempt::Failed;
  }
  observe(*updated);
  return Attempt::Acquired;
}

// `base` with a spec that says we hold it now. keep_acquire: a renewal keeps
// acquireTime and leaseTransitions; otherwise this is a new term.
Json LeaderElector::make_lease(const Json& base, bool keep_acquire) const {
  const std::string now = format_micro_time(clock_.wall_now());
  Json lease = base;
  Json spec = spec_of(base);
  const long long transitions = spec_int(base, "leaseTransitions", 0);
  const bool existed = base.contains("spec");
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count();
  spec["renewTime"] = now;
  if (!keep_acquire || !spec.contains("acquireTime")) spec["acquireTime"] = now;
  spec["leaseTransitions"] = keep_acquire || !existed ? transitions : transitions + 1;
  lease["spec"] = std::move(spec);
  return lease;
}

// client-go's release: an empty holder with a 1 s duration lets a standby take over at once.
void LeaderElector::release() {
  Json lease;
  {
    std::lock_guard lock(mu_);
    if (observed_holder_ != config_.identity) return;
    lease = observed_lease_;
  }
  const std::string now = format_micro_time(clock_.wall_now());
  Json spec = spec_of(lease);
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = 1;
  spec["acquireTime"] = now;
  spec["renewTime"] = now;
  lease["spec"] = std::move(spec);
  auto updated = client_.update(resources::leases(), lease);
  if (!updated) {
    report(updated.error());
    return;
  }
  observe(*updated);
  report_transition();
}

void LeaderElector::observe(const Json& lease) {
  std::lock_guard lock(mu_);
  const bool changed =
      resource_version_of(lease) != resource_version_of(observed_lease_) || spec_of(lease) != spec_of(observed_lease_);
  observed_lease_ = lease;
  if (changed) {
    observed_time_ = clock_.now();
    observed_holder_ = holder_of(lease);
  }
}

// Valid for leaseDurationSeconds after we saw the record change; never judged
// from renewTime, which is the holder's wall clock.
bool LeaderElector::observed_valid_locked(Clock::TimePoint now) const {
  const auto configured = std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count();
  const auto seconds = spec_int(observed_lease_, "leaseDurationSeconds", configured);
  return observed_time_ + std::chrono::seconds(seconds) > now;
}

void LeaderElector::report_transition() {
  std::string holder;
  {
    std::lock_guard lock(mu_);
    if (observed_holder_ == reported_leader_) return;
    reported_leader_ = observed_holder_;
    holder = reported_leader_;
  }
  if (config_.on_new_leader) config_.on_new_leader(holder);
}

void LeaderElector::report(const Error& error) {
  std::function<void(const Error&)> on_error;
  {
    std::lock_guard lock(mu_);
    on_error = on_error_;
  }
  if (on_error) on_error(error);
}

}  // namespace kube
