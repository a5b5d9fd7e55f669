// src/registry/crypto.h — protecting personal data at rest (libsodium).
//  - keyed_hash(): a keyed BLAKE2b hash for look-ups (ID numbers, phone numbers): equal inputs give
//    equal hashes under one key; without the key the hash reveals nothing usable.
//  - seal()/open(): XChaCha20-Poly1305 AEAD with a random nonce; `context` is bound as
//    associated data so a sealed value cannot be moved to another field or row unnoticed.
// Keys: one 32-byte master key from a key file (hex) or the environment, never from the store;
// sub-keys for hashing and sealing are derived from it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace simkyc {

class Vault {
 public:
  // Reads a key file holding 64 hex characters.  When `create_if_missing` and the file does not
  // exist, creates it (mode 0600) with a new random key and sets *created = true.
  // Errors: kConfigError (bad content, wrong permissions wider than 0600), kIoError.
  static Result<Vault> from_key_file(const std::filesystem::path& path, bool create_if_missing,
                                     bool* created = nullptr);
  // Requires: 64 hex characters.  Errors: kConfigError.
  static Result<Vault> from_hex(std::string_view hex);

  // Ensures: 64 hex characters; same input and key give the same output.
  std::string keyed_hash(std::string_view data, std::string_view domain) const;
  std::vector<std::uint8_t> seal(std::string_view plaintext, std::string_view context) const;
  // Errors: kConfigError when the data was not sealed with this key and context (or was altered).
  Result<std::string> open(const std::vector<std::uint8_t>& sealed, std::string_view context) const;

 private:
  Vault() = default;
  std::vector<std::uint8_t> hash_key_, seal_key_;
};

// Random identifiers and secrets: `bytes` random bytes as lowercase hex.
std::string random_hex(std::size_t bytes);
// Unkeyed hash (hex BLAKE2b-256) for API-key secrets and the audit chain.
std::string hash_hex(std::string_view data);

}  // namespace simkyc
