// Parts of store.h shared by every Store implementation.
#include "registry/store.h"

namespace simkyc {

std::string_view to_string(Role r) {
  switch (r) {
    case Role::kClerk: return "clerk";
    case Role::kAuditor: return "auditor";
    case Role::kAdmin: return "admin";
    case Role::kSupervisor: return "supervisor";
  }
  return "clerk";
}

std::optional<Role> role_from_string(std::string_view s) {
  if (s == "clerk") return Role::kClerk;
  if (s == "auditor") return Role::kAuditor;
  if (s == "admin") return Role::kAdmin;
  if (s == "supervisor") return Role::kSupervisor;
  return std::nullopt;
}

}  // namespace simkyc
