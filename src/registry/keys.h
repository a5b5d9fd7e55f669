// src/registry/keys.h — API keys: `sk_<key id>_<secret>`.  Only a hash of the secret is stored.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "registry/store.h"

namespace simkyc {

struct NewApiKey {
  std::string key;          // the full key: the only copy of the secret, shown once
  ApiKeyRecord record;      // what was stored
};

// Requires: operator_id of 1..64 characters.
// Ensures: a fresh random key stored with its key.create audit entry.
// Errors: kBadRequest (operator id), kStoreError.
Result<NewApiKey> create_api_key(Store& store, const std::string& operator_id, Role role, std::int64_t now,
                                 const std::string& actor);

struct ApiKeyParts {
  std::string key_id, secret;
};
// Ensures: nullopt unless `key` has the form sk_<key id>_<secret> (at most 200 characters).
std::optional<ApiKeyParts> parse_api_key(std::string_view key);

}  // namespace simkyc
