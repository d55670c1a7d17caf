#pragma once
// Every reason rr-operator writes into a status condition, in one table. A
// Condition can only carry a Reason from this table (its constructor is
// private), so the set is enumerable: tests/unit/operator/planner/reasons_test.cpp
// holds it equal to the Reason column of docs/crd-reference.md's Conditions
// table. A new reason goes into RR_CONDITION_REASONS and into that table.

#include <array>
#include <ostream>
#include <string_view>

// One X(name) per reason, in the order of the docs' table.
#define RR_CONDITION_REASONS(X) \
  X(FabricReady)                \
  X(InvalidSpec)                \
  X(NamespaceNotAllowed)        \
  X(ImageNotAllowed)            \
  X(Conflict)                   \
  X(CalicoAPIUnavailable)       \
  X(NamespaceNotFound)          \
  X(NamespaceNotWatchable)      \
  X(AgentSecretsNotGranted)     \
  X(CalicoPasswordsNotCopied)   \
  X(ClusterIDPoolExhausted)     \
  X(NoEligibleHosts)            \
  X(RacksWithoutZone)           \
  X(NoRacks)                    \
  X(ReflectorsNotReady)         \
  X(SessionsNotEstablished)     \
  X(ReflectorsChanging)         \
  X(Stalled)                    \
  X(AsExpected)                 \
  X(AllNodesCovered)            \
  X(UncoveredNodes)             \
  X(WaitingForReflectors)       \
  X(NotManaged)

namespace rr::planner {

class Reason {
 public:
  constexpr Reason() = default;  // none yet (a default-constructed Condition or MeshDecision)
  constexpr std::string_view name() const { return name_; }
  constexpr bool empty() const { return name_.empty(); }
  friend constexpr bool operator==(Reason a, Reason b) { return a.name_ == b.name_; }
  friend constexpr bool operator==(Reason a, std::string_view b) { return a.name_ == b; }
  friend std::ostream& operator<<(std::ostream& out, Reason r) { return out << r.name_; }

#define RR_DECLARE_REASON(n) static const Reason k##n;
  RR_CONDITION_REASONS(RR_DECLARE_REASON)
#undef RR_DECLARE_REASON

 private:
  constexpr explicit Reason(std::string_view name) : name_(name) {}
  std::string_view name_;
};

#define RR_DEFINE_REASON(n) inline constexpr Reason Reason::k##n{#n};
RR_CONDITION_REASONS(RR_DEFINE_REASON)
#undef RR_DEFINE_REASON

#define RR_LIST_REASON(n) Reason::k##n,
inline constexpr std::array kAllReasons = {RR_CONDITION_REASONS(RR_LIST_REASON)};
#undef RR_LIST_REASON

}  // namespace rr::planner
