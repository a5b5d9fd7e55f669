#include "registry/keys.h"

#include "registry/crypto.h"

namespace simkyc {

Result<NewApiKey> create_api_key(Store& store, const std::string& operator_id, Role role, std::int64_t now,
                                 const std::string& actor) {
  if (operator_id.empty() || operator_id.size() > 64) return make_error(Reason::kBadRequest, "operator id");
  NewApiKey k;
  k.record.key_id = random_hex(8);
  const std::string secret = random_hex(32);
  k.record.secret_hash = hash_hex(secret);
  k.record.operator_id = operator_id;
  k.record.role = role;
  k.record.created = now;
  if (auto st = store.add_key(k.record, actor); !st) return st.error();
  k.key = "sk_" + k.record.key_id + "_" + secret;
  return k;
}

std::optional<ApiKeyParts> parse_api_key(std::string_view key) {
  if (key.size() > 200 || key.rfind("sk_", 0) != 0) return std::nullopt;
  const auto rest = key.substr(3);
  const auto us = rest.find('_');
  if (us == std::string_view::npos || us == 0 || us + 1 == rest.size()) return std::nullopt;
  return ApiKeyParts{std::string(rest.substr(0, us)), std::string(rest.substr(us + 1))};
}

}  // namespace simkyc
