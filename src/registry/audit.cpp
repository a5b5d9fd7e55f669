// The audit hash chain: canonical form, entry hash and chain verification.  See detail_audit.h.
#include <string>

#include "registry/crypto.h"
#include "registry/detail_audit.h"

namespace simkyc::registry_detail {
namespace {

void put_field(std::string& out, const char* name, const std::string& value) {
  out += name;
  out += '=';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

}  // namespace

std::string audit_canonical(const AuditEntry& e) {
  std::string out = "simkyc-audit-v1\n";
  out += "seq=" + std::to_string(e.seq) + "\n";
  out += "ts=" + std::to_string(e.ts) + "\n";
  put_field(out, "operator", e.operator_id);
  put_field(out, "actor", e.actor);
  put_field(out, "action", e.action);
  put_field(out, "subject", e.subject);
  put_field(out, "details", e.details_json);
  return out;
}

std::string audit_entry_hash(const std::string& prev_hash, const AuditEntry& e) {
  return hash_hex(prev_hash + "\n" + audit_canonical(e));
}

std::string audit_operator_hash(const std::string& op_prev_hash, const AuditEntry& e) {
  return hash_hex(op_prev_hash + "\n" + audit_canonical(e) + "op_seq=" + std::to_string(e.op_seq) + "\n");
}

ChainCheck verify_operator_chain(const std::vector<AuditEntry>& entries) {
  ChainCheck c;
  std::string prev;   // the last op_hash seen; "" until the first entry that has one
  for (const auto& e : entries) {
    ++c.entries;
    if (!c.ok) continue;
    const std::string s = std::to_string(e.op_seq);
    std::string problem;
    if (e.op_seq != c.entries)
      problem = "operator entry " + std::to_string(c.entries) + " is missing or out of sequence (found " + s + ")";
    else if (e.op_hash.empty() && !prev.empty())
      problem = "operator entry " + s + " has no operator hash after entries that have one";
    else if (!e.op_hash.empty() && audit_operator_hash(e.op_prev_hash, e) != e.op_hash)
      problem = "operator entry " + s + " does not match its hash: its content was edited";
    else if (!e.op_hash.empty() && e.op_prev_hash != (prev.empty() ? kGenesisHash : prev))
      problem = "operator entry " + s + " does not link to the operator's entry before it";
    if (!problem.empty()) {
      c.ok = false;
      c.first_bad_seq = c.entries;
      c.problem = problem;
    }
    if (!e.op_hash.empty()) prev = e.op_hash;
  }
  return c;
}

void ChainVerifier::broken(std::int64_t seq, std::string problem) {
  check_.ok = false;
  check_.first_bad_seq = seq;
  check_.problem = std::move(problem);
}

void ChainVerifier::add(const AuditEntry& e) {
  ++check_.entries;
  if (!check_.ok) return;
  const std::string s = std::to_string(e.seq);
  if (e.seq != expected_seq_) {
    if (e.seq > expected_seq_) {
      const std::string missing = expected_seq_ + 1 == e.seq
                                      ? "entry " + std::to_string(expected_seq_) + " is missing"
                                      : "entries " + std::to_string(expected_seq_) + ".." +
                                            std::to_string(e.seq - 1) + " are missing";
      broken(expected_seq_, missing + " (deleted): the next entry present is " + s);
    } else {
      broken(e.seq, "entry " + s + " is out of sequence (expected " + std::to_string(expected_seq_) + ")");
    }
    return;
  }
  if (audit_entry_hash(e.prev_hash, e) != e.hash) {
    broken(e.seq, "entry " + s + " does not match its hash: its content was edited or swapped with another entry");
    return;
  }
  if (e.prev_hash != expected_prev_) {
    broken(e.seq, "entry " + s + " does not link to the entry before it: " +
                      (e.seq == 1 ? std::string("the first entry must link to the genesis hash")
                                  : "entry " + std::to_string(e.seq - 1) +
                                        " was edited, replaced or reordered"));
    return;
  }
  expected_prev_ = e.hash;
  ++expected_seq_;
}

ChainCheck ChainVerifier::finish(std::optional<std::int64_t> head_seq, const std::string& head_hash) {
  if (check_.ok && head_seq) {
    const std::int64_t last = expected_seq_ - 1;
    if (*head_seq > last) {
      broken(last + 1, "entries " + std::to_string(last + 1) + ".." + std::to_string(*head_seq) +
                           " are missing: the log was truncated after entry " + std::to_string(last));
    } else if (*head_seq < last) {
      broken(*head_seq + 1, "entry " + std::to_string(*head_seq + 1) +
                                " was not appended by simkyc (the chain head records " +
                                std::to_string(*head_seq) + " entries)");
    } else if (head_hash != expected_prev_) {
      broken(last == 0 ? 1 : last, "the last entry does not match the chain head: it was replaced");
    }
  }
  return check_;
}

}  // namespace simkyc::registry_detail
