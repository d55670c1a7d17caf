#include "kube/work_queue.h"

namespace kube {

namespace {

RateLimiterOptions limiter_options(const WorkQueueOptions& o) {
  return RateLimiterOptions{
      .base_delay = o.base_delay,
      .max_delay = o.max_delay,
      .overall_qps = o.overall_qps,
      .overall_burst = o.overall_burst,
  };
}

}  // namespace

WorkQueue::WorkQueue(WorkQueueOptions options, Clock& clock)
    : clock_(clock), limiter_(limiter_options(options), clock), delay_thread_([this] { run_delays(); }) {}

WorkQueue::~WorkQueue() {
  shut_down();
  delay_thread_.join();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  add_locked(key);
}

void WorkQueue::add_locked(const std::string& key) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;
  if (processing_.contains(key)) return;  // done() queues it
  queue_.push_back(key);
  getters_cv_.notify_one();
}

void WorkQueue::add_after(const std::string& key, Clock::Duration delay) {
  if (delay <= Clock::Duration::zero()) {
    add(key);
    return;
  }
  auto deadline = clock_.now() + delay;
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  auto existing = waiting_by_key_.find(key);
  if (existing != waiting_by_key_.end()) {
    if (existing->second.deadline <= deadline) return;
    waiting_.erase(existing->second);
  }
  Waiting entry{deadline, next_seq_++};
  waiting_by_key_[key] = entry;
  waiting_.emplace(entry, key);
  if (sleep_stop_) {
    if (deadline < sleep_deadline_) sleep_stop_->request_stop();
  } else {
    delay_cv_.notify_one();
  }
}

void WorkQueue::add_rate_limited(const std::string& key) {
  if (shutting_down()) return;
  add_after(key, limiter_.when(key));
}

void WorkQueue::forget(const std::string& key) { limiter_.forget(key); }

int WorkQueue::failures(const std::string& key) const { return limiter_.failures(key); }

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  getters_cv_.wait(lock, [&] { return shutting_down_ || !queue_.empty(); });
  if (shutting_down_) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  if (processing_.erase(key) == 0) return;
  if (dirty_.contains(key)) {
    queue_.push_back(key);
    getters_cv_.notify_one();
  }
}

void WorkQueue::shut_down() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  getters_cv_.notify_all();
  delay_cv_.notify_all();
  if (sleep_stop_) sleep_stop_->request_stop();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void WorkQueue::run_delays() {
  std::unique_lock lock(mu_);
  while (!shutting_down_) {
    auto now = clock_.now();
    while (!waiting_.empty() && waiting_.begin()->first.deadline <= now) {
      auto node = waiting_.extract(waiting_.begin());
      waiting_by_key_.erase(node.mapped());
      add_locked(node.mapped());
    }
    if (waiting_.empty()) {
      delay_cv_.wait(lock, [&] { return shutting_down_ || !waiting_.empty(); });
      continue;
    }
    // A stop requested between here and sleep_until makes the sleep return at once,
    // so an earlier deadline added meanwhile is never missed.
    Clock::TimePoint deadline = waiting_.begin()->first.deadline;
    sleep_deadline_ = deadline;
    sleep_stop_.emplace();
    std::stop_token stop = sleep_stop_->get_token();
    lock.unlock();
    clock_.sleep_until(deadline, stop);  // woken early only to re-plan: the loop re-reads the clock
    lock.lock();
    sleep_stop_.reset();
  }
}

}  // namespace kube
