// src/registry/store.h — what simkyc keeps, behind one interface that the SQLite store (embedded
// default) and a PostgreSQL store share.
//
// Every method is one transaction.  Every method that changes a decision, a registration, a
// review, a key or deletes data appends its audit entry in the SAME transaction, so the audit
// chain and the data can never disagree.  Personal data arrives here already protected: ID
// numbers and phone numbers as a keyed hash (for look-ups and limits) plus an AEAD-encrypted copy,
// face templates encrypted (see registry/crypto.h).  The store never sees a plaintext ID number.
// All times are Unix seconds (UTC).  Methods are safe to call from many threads and processes.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace simkyc {

// supervisor: a clerk who also resolves the review queue (issue 13).
enum class Role { kClerk, kAuditor, kAdmin, kSupervisor };
std::string_view to_string(Role r);
std::optional<Role> role_from_string(std::string_view s);

struct ApiKeyRecord {
  std::string key_id;        // public part of the key, e.g. "k_3f9a..."
  std::string secret_hash;   // hex hash of the secret part; the secret itself is never stored
  std::string operator_id;
  Role role = Role::kClerk;
  std::int64_t created = 0;
  bool revoked = false;
};

struct SessionRecord {
  std::string id;
  std::string operator_id;
  std::string channel;         // "counter" or "online"
  std::string device_id;       // counter device / app install (for rate limits); may be empty
  std::string nonce;
  std::int64_t created = 0, expires = 0;
  std::string challenge_json;  // liveness challenge (actions, order), JSON text
  std::string state = "open";  // open -> decided
  std::optional<std::int64_t> consent_at;
  std::string consent_version;
  // Document (set once it is submitted)
  std::string id_hash;         // keyed hash of the normalised ID number ("" until submitted)
  std::vector<std::uint8_t> id_sealed;   // AEAD-encrypted ID number
  std::string document_json;   // non-identifying document facts: kind, valid, expired, age, minor
  std::vector<std::uint8_t> template_sealed;   // encrypted live-face template (may be empty)
  // Decision (set once decided)
  std::string decision;        // "PASS" / "REVIEW" / "FAIL" ("" until decided)
  std::string reasons_json;    // ["CODE", ...]
  std::optional<double> score; // auditors only
  double threshold = 0;
  double fmr = 0;
  std::string model;
  std::optional<std::int64_t> decided_at;
  // Not a column: how the live image was taken ("camera" or "file"), written into the decision's
  // audit entry by save_decision ("live_capture"; omitted when empty).
  std::string live_capture;
};

struct RegistrationRecord {
  std::string id;
  std::string operator_id;
  std::string id_hash;
  std::string number_hash;                    // keyed hash of the E.164 phone number
  std::vector<std::uint8_t> number_sealed;    // AEAD-encrypted phone number
  std::string session_id;
  std::int64_t created = 0;
  bool active = true;
};

struct ReviewRecord {
  std::string id;
  std::string operator_id;
  std::string session_id;
  std::string status = "open";    // open -> resolved
  std::string resolution;         // "PASS" / "FAIL" once resolved
  std::string comment;
  std::string resolved_by;        // key id
  std::int64_t created = 0;
  std::optional<std::int64_t> resolved_at;
};

struct AuditEntry {
  std::int64_t seq = 0;           // 1, 2, 3, ... assigned by the store
  std::int64_t ts = 0;
  std::string operator_id;
  std::string actor;              // key id or "system" / "cli"
  std::string action;             // e.g. "decision", "registration", "review.resolve", "key.create"
  std::string subject;            // session id, registration id, key id, or an id hash
  std::string details_json;       // no plaintext personal data
  std::string prev_hash, hash;    // hex; hash = H(prev_hash || canonical fields)
  // The operator's own chain (issue 14): op_seq is 1, 2, 3, ... per operator_id with no gaps, and
  // op_hash = H(op_prev_hash || canonical fields || op_seq), op_prev_hash the operator's previous
  // op_hash (64 zeros for its first).  Entries written before schema 2 have op_hash "".
  std::int64_t op_seq = 0;
  std::string op_prev_hash, op_hash;
};

struct ChainCheck {
  bool ok = true;
  std::int64_t entries = 0;
  std::optional<std::int64_t> first_bad_seq;   // first entry whose link or content is wrong
  std::string problem;                         // human description
};

struct RetentionPolicy {
  std::int64_t sessions_days = 90;     // sessions, documents and decisions of unregistered customers
  std::int64_t templates_days = 0;     // face templates (0 = drop as soon as decided)
  std::int64_t audit_days = 3650;      // audit entries are never purged before this
};

struct PurgeReport {
  std::int64_t sessions = 0, templates = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Keys.  Errors: kStoreError.
  virtual Status add_key(const ApiKeyRecord& key, const std::string& actor) = 0;
  virtual Result<std::optional<ApiKeyRecord>> find_key(const std::string& key_id) = 0;
  virtual Status revoke_key(const std::string& key_id, const std::string& actor) = 0;

  // Sessions.  get_session returns nullopt when the session does not exist OR belongs to another
  // operator: an operator never sees another operator's data.
  virtual Status create_session(const SessionRecord& s) = 0;
  virtual Result<std::optional<SessionRecord>> get_session(const std::string& operator_id,
                                                           const std::string& id) = 0;
  // Idempotent: when the session already has a consent record, nothing is written (no second
  // audit entry).
  virtual Status record_consent(const std::string& operator_id, const std::string& session_id,
                                const std::string& version, std::int64_t at, const std::string& actor) = 0;
  virtual Status save_document(const SessionRecord& s) = 0;   // id_hash, id_sealed, document_json, template_sealed
  // Stores the decision (and opens a review item when decision == "REVIEW"), with its audit entry.
  // template_sealed is written as given: an empty one drops the stored template.
  // Errors: kSessionDecided when the session already has a decision.
  virtual Status save_decision(const SessionRecord& s, const std::string& actor) = 0;

  // Registrations.  Checks the number of active registrations of id_hash at the operator and
  // inserts, in one transaction: concurrent callers can never exceed `limit`.
  // Errors: kNumberLimitReached, kNumberAlreadyRegistered, kStoreError.
  virtual Result<RegistrationRecord> register_number(const RegistrationRecord& r, int limit,
                                                     const std::string& actor) = 0;
  virtual Result<std::vector<RegistrationRecord>> list_registrations(const std::string& operator_id,
                                                                     const std::string& id_hash) = 0;
  virtual Result<std::optional<RegistrationRecord>> find_registration_by_number(
      const std::string& operator_id, const std::string& number_hash) = 0;
  // Releases an active registration of this operator (active = 0), with a "registration.release"
  // audit entry.  Errors: kNotFound (no ACTIVE registration with this id at the operator).
  virtual Result<RegistrationRecord> release_registration(const std::string& operator_id,
                                                          const std::string& registration_id,
                                                          const std::string& actor, std::int64_t at) = 0;

  // Review queue.  Errors: kNotFound, kReviewResolved.  resolve_review also sets the session's
  // decision from REVIEW to the resolution (PASS or FAIL) and its decided_at to `at` (the
  // registration window of a reviewed PASS starts at the resolution), in the same transaction;
  // its audit entry carries the comment.
  virtual Result<std::vector<ReviewRecord>> list_reviews(const std::string& operator_id,
                                                         const std::string& status) = 0;
  virtual Result<ReviewRecord> resolve_review(const std::string& operator_id, const std::string& review_id,
                                              const std::string& resolution, const std::string& comment,
                                              const std::string& actor, std::int64_t at) = 0;

  // Failed-attempt counting for rate limits (scope: "device:<id>" or "id:<hash>").
  virtual Status record_failure(const std::string& scope, std::int64_t at) = 0;
  virtual Result<std::int64_t> count_failures(const std::string& scope, std::int64_t since) = 0;
  // The time of the latest event recorded for exactly this scope (nullopt: none).
  virtual Result<std::optional<std::int64_t>> last_failure(const std::string& scope) = 0;
  // Deletes every event whose scope starts with one of `scope_prefixes` and appends one
  // "lock.clear" audit entry (operator_id, actor, subject, the count) in the same transaction.
  // Ensures: the number of events deleted.
  virtual Result<std::int64_t> clear_failures(const std::string& operator_id,
                                              const std::vector<std::string>& scope_prefixes,
                                              const std::string& subject, const std::string& actor) = 0;

  // Privacy.  delete_subject removes every session, template and registration of id_hash at the
  // operator and leaves one audit entry.  purge deletes what is past retention.
  virtual Result<std::int64_t> delete_subject(const std::string& operator_id, const std::string& id_hash,
                                              const std::string& actor) = 0;
  virtual Result<PurgeReport> purge(const RetentionPolicy& p, std::int64_t now, const std::string& actor) = 0;

  // Audit.  append is for actions with no other data change (e.g. a CLI event).
  virtual Status append_audit(const AuditEntry& e) = 0;
  virtual Result<std::vector<AuditEntry>> list_audit(const std::string& operator_id, std::int64_t after_seq,
                                                     int limit) = 0;
  virtual Result<ChainCheck> verify_audit() = 0;

  // Health: ok when the store answers now (for /healthz).  Errors: kStoreUnavailable (the
  // database cannot be reached), kStoreError, with the reason in the detail.  A store that cannot become unreachable keeps the default.
  virtual Status check_health() { return ok_status(); }
};

// The embedded default: SQLite in WAL mode, one file, schema migrated on open.
// Errors: kStoreError (cannot open/migrate).
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path);

// Scale-out: PostgreSQL (a libpq URL, postgres://user@host:port/db?...), shared by many processes
// and machines; schema migrated on open (concurrent openers wait for each other).  A pool of
// connections; a lost connection is reopened on the next call, so the store recovers when the
// database returns; any method may then fail with kStoreUnavailable.  Serialization failures
// and deadlocks are retried inside.  Errors: kStoreUnavailable (cannot connect), kConfigError
// (bad URL), kStoreError (cannot migrate, built without libpqxx).
Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url);

// True for "postgres://..." and "postgresql://...".
bool is_postgres_url(std::string_view location);
// A PostgreSQL URL opens open_postgres_store, anything else is a SQLite file for open_sqlite_store.
Result<std::unique_ptr<Store>> open_store(const std::string& location);
// The location without a password (postgres://user:secret@host -> postgres://user:***@host), for logs.
std::string redact_location(const std::string& location);

}  // namespace simkyc
