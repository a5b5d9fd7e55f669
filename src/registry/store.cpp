// Parts of store.h shared by every Store implementation.
#include "registry/store.h"

#include <regex>

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

bool is_postgres_url(std::string_view location) {
  return location.rfind("postgres://", 0) == 0 || location.rfind("postgresql://", 0) == 0;
}

Result<std::unique_ptr<Store>> open_store(const std::string& location) {
  if (is_postgres_url(location)) return open_postgres_store(location);
  return open_sqlite_store(location);
}

std::string redact_location(const std::string& location) {
  if (!is_postgres_url(location)) return location;
  // scheme://user:password@host...  and  ...?password=...&
  static const std::regex userinfo(R"(^(postgres(?:ql)?://[^:/@?]*):[^@/?]*@)");
  static const std::regex param(R"(([?&]password=)[^&]*)");
  std::string out = std::regex_replace(location, userinfo, "$1:***@");
  return std::regex_replace(out, param, "$1***");
}

#ifndef SIMKYC_HAVE_POSTGRES
Result<std::unique_ptr<Store>> open_postgres_store(const std::string&) {
  return make_error(Reason::kStoreError, "this simkyc was built without PostgreSQL support (libpqxx-dev): "
                                         "run scripts/setup.sh and rebuild");
}
#endif

}  // namespace simkyc
