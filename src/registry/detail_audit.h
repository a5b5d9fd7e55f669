// src/registry/detail_audit.h — the audit hash chain, shared by every Store implementation
// (internal to src/registry).
//
// Each entry's hash = hash_hex(prev_hash + "\n" + audit_canonical(entry)); the first entry's
// prev_hash is 64 zeros.  The canonical form is length-prefixed, so no field value can imitate a
// field boundary:
//   simkyc-audit-v1\n
//   seq=<decimal>\n ts=<decimal>\n
//   operator=<byte length>:<bytes>\n actor=...\n action=...\n subject=...\n details=...\n
// (each on its own line, without the leading space).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "registry/store.h"

namespace simkyc::registry_detail {

inline const std::string kGenesisHash(64, '0');

// Ensures: the same fields always give the same bytes.  prev_hash and hash are not part of it.
std::string audit_canonical(const AuditEntry& e);
// hash_hex(prev_hash + "\n" + audit_canonical(e)).
std::string audit_entry_hash(const std::string& prev_hash, const AuditEntry& e);

// The operator chain (issue 14): hash_hex(op_prev_hash + "\n" + audit_canonical(e) + "op_seq=<decimal>\n").
std::string audit_operator_hash(const std::string& op_prev_hash, const AuditEntry& e);
// Checks one operator's entries (ascending op_seq, as /v1/audit lists them): op_seq 1, 2, 3, ...
// without gaps, each op_hash matches, each links to the one before.  Entries with an empty
// op_hash (written before schema 2) are only counted, and must all come first.
ChainCheck verify_operator_chain(const std::vector<AuditEntry>& entries);

// Checks a chain entry by entry.  Feed every stored entry in ascending seq order, then call
// finish().  The first problem found is kept; later entries are only counted.
class ChainVerifier {
 public:
  void add(const AuditEntry& e);
  // head_seq/head_hash: the store's record of the last appended entry (when it keeps one), which
  // detects entries removed from the end of the log.
  ChainCheck finish(std::optional<std::int64_t> head_seq = std::nullopt,
                    const std::string& head_hash = {});

 private:
  void broken(std::int64_t seq, std::string problem);
  ChainCheck check_;
  std::int64_t expected_seq_ = 1;
  std::string expected_prev_ = kGenesisHash;
};

}  // namespace simkyc::registry_detail
