// src/registry/service.h — the registration service: sessions, consent, document, live capture,
// decision, number registration, review queue, audit.  The HTTP API (src/api) is a thin layer
// over this class: it parses requests, calls one method and formats the result.
//
// Thread-safe: many requests may call one Service at once.  Stateless across instances: all
// state is in the Store, so several `simkyc serve` processes can share one store.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "face/analyzer.h"
#include "image/image.h"
#include "liveness/engine.h"
#include "match/match.h"
#include "policy/decision.h"
#include "policy/liveness_policy.h"
#include "registry/crypto.h"
#include "registry/store.h"

namespace simkyc {

struct ServiceConfig {
  int number_limit = 5;                       // active numbers per ID per operator
  std::int64_t session_ttl_s = 900;           // a session expires this long after it starts
  // A PASS registers numbers (for its own ID only) this long after the decision (or the review
  // resolution), and never longer than session_ttl_s after it (issue 14).
  std::int64_t registration_window_s = 600;
  std::map<std::string, double> channel_fmr = {{"counter", 1e-4}, {"online", 1e-5}};
  double review_fmr = 1e-3;                   // scores between this threshold and PASS go to REVIEW
  int guardian_age = 16;                      // below this age ...
  std::string minor_action = "review";        // ... "review", "refuse" or "allow"
  std::string expired_action = "refuse";      // expired document: "refuse" or "review"
  int rate_max_failures = 5;                  // failed verifications per device and per ID ...
  std::int64_t rate_window_s = 180;           // ... within this window ...
  std::int64_t rate_lock_s = 1800;            // ... lock further attempts for this long
  std::string consent_version = "2026-01";
  ImageLimits limits;
  RetentionPolicy retention;
  LivenessPolicy liveness;                    // checks each channel requires; FAIL or REVIEW when one fails
  LivenessConfig liveness_engine;             // model, target BPCER, challenge thresholds (for LivenessEngine::load)
  // Channels on which the live capture may be a photo file instead of the camera (issue 13): at a
  // counter the clerk sees the customer; online, only the camera with its challenge.
  std::vector<std::string> live_file_channels = {"counter"};
};

struct Caller {
  std::string key_id;
  std::string operator_id;
  Role role = Role::kClerk;
};

struct DocumentInput {
  std::string id_number;                // Chinese resident ID number, or
  std::string mrz;                      // MRZ text (passports, travel permits)
  std::span<const std::uint8_t> portrait;   // encoded image: chip photo or card crop
};

struct DocumentOutcome {
  std::string kind;                     // "cn_resident_id", "passport", ...
  bool valid = false, expired = false, minor = false;   // minor: under 18 (as `document check`)
  bool needs_guardian = false;          // document::needs_guardian(age, guardian_age)
  std::optional<int> age;
  std::vector<Reason> reasons;          // portrait quality reasons (usable, but noted)
  std::map<std::string, double> timings_ms;   // per pipeline stage
};

struct DecisionView {                   // what the customer-facing client may see: never a score
  std::string session_id;
  std::string state;                    // "open", "decided"
  std::string decision;                 // "PASS" / "REVIEW" / "FAIL" or "" while open
  std::vector<Reason> reasons;
  std::int64_t expires = 0;
  std::map<std::string, double> timings_ms;   // per pipeline stage (empty when read back)
};

// A review queue item with what a supervisor needs to decide (never the score: auditors only).
struct ReviewItem {
  ReviewRecord review;
  std::string channel;
  std::vector<Reason> reasons;          // the decision's reasons
  std::vector<Reason> portrait_quality; // document portrait quality findings
  std::string document_kind;
  bool expired = false, minor = false;
  std::string submitted_by;             // key id that ran the check
  std::int64_t started = 0;             // session start, consent, decision (Unix s)
  std::optional<std::int64_t> consent_at, decided_at;
};

struct NumberView {
  std::string registration_id;
  std::string phone_number;             // E.164
  std::int64_t created = 0;
};

// Clock in Unix seconds; injectable for tests of expiry and rate limits.
using Clock = std::function<std::int64_t()>;

class Service {
 public:
  // Requires: store and vault outlive the service; analyzer loaded; calibration for its model.
  // Errors: kCalibrationMissing when a channel's FMR is outside the calibration table.
  // liveness: the engine for the checks cfg.liveness requires (kConfigError when one is required
  // and none is given).
  static Result<std::unique_ptr<Service>> create(Store& store, const Vault& vault, const FaceAnalyzer& analyzer,
                                                 CalibrationTable calibration, ServiceConfig cfg, Clock clock = {},
                                                 std::shared_ptr<LivenessEngine> liveness = nullptr);

  // API keys: `sk_<key id>_<secret>`.  Errors: kUnauthorized (unknown, revoked or malformed).
  Result<Caller> authenticate(std::string_view api_key);
  // Creates a key for the caller's operator (admin only) or, with caller == nullopt, for any
  // operator (the local CLI).  Ensures: the returned string is the only copy of the secret.
  Result<std::string> create_key(const std::optional<Caller>& caller, const std::string& operator_id, Role role);

  // Clerk.  channel: "counter" or "online"; reverify_number: an E.164 number whose holder is
  // re-verified (the document must then belong to that number's holder).
  // Errors: kBadRequest (channel), kForbidden, kNotFound (reverify number unknown).
  Result<SessionRecord> start_session(const Caller& c, const std::string& channel, const std::string& device_id,
                                      const std::string& reverify_number = "");
  // Idempotent: a second consent on the same session writes nothing.
  Status record_consent(const Caller& c, const std::string& session_id, const std::string& version);
  // Records that the customer refused (audit "consent.refuse"); the session cannot go on.
  // Errors: kBadRequest when consent was already given (start a new session instead).
  Status refuse_consent(const Caller& c, const std::string& session_id, const std::string& version);
  // Checks the document and finds one usable face in its portrait.  Requires consent first.
  // Errors: kConsentRequired, kSessionExpired, kSessionDecided, kNotFound, kDocumentInvalid,
  //   kDocumentExpired / kMinorNeedsGuardian (when configured to refuse), kNoFace,
  //   kMultipleFaces, image-guard codes.
  Result<DocumentOutcome> submit_document(const Caller& c, const std::string& session_id, const DocumentInput& in);
  // Compares the live capture with the document portrait and decides.  Failed attempts count
  // towards the device and ID rate limits.  Liveness (cfg.liveness): the passive check runs on
  // live_image; `frames` (optional; required on channels asking for the challenge) are the
  // challenge's frames with capture times (Unix ms), checked against the session's challenge and
  // against frames already used by other sessions.  A failed liveness check is FAIL or REVIEW.
  // Errors: kRateLimited, kDocumentRequired, kConsentRequired, kSessionExpired, kSessionDecided,
  //   kNotFound, image-guard codes.
  // capture: "camera" (default) or "file" (a photo file; only on cfg.live_file_channels, else
  // kLiveFileNotAllowed; recorded in the decision's audit entry).  A live image that is a copy of
  // the document portrait (same picture, resized, re-encoded, cropped) is FAIL with
  // kLiveIsDocumentCopy.
  Result<DecisionView> submit_live(const Caller& c, const std::string& session_id,
                                   std::span<const std::uint8_t> live_image,
                                   std::span<const EncodedFrame> frames = {},
                                   const std::string& capture = "camera");
  Result<DecisionView> get_decision(const Caller& c, const std::string& session_id);
  // Requires: the session PASSed (or its REVIEW was resolved to PASS) and is not a re-verification.
  // Errors: kSessionNotPassed, kPhoneNumberInvalid, kNumberLimitReached, kNumberAlreadyRegistered.
  Result<NumberView> register_number(const Caller& c, const std::string& session_id, const std::string& phone);
  // The numbers registered to the session's ID at this operator.  Requires a PASSed session.
  Result<std::vector<NumberView>> list_numbers(const Caller& c, const std::string& session_id);
  // Releases one of the operator's active numbers (clerk or admin of that operator; audited).
  // Errors: kNotFound (not an active registration of this operator).
  Status release_number(const Caller& c, const std::string& registration_id);

  // Admin, addressed by the document (resident ID number or MRZ, as at the document step).
  // Errors: kForbidden, kBadRequest (neither given), kDocumentInvalid.
  struct SubjectNumber {
    NumberView number;
    bool active = true;
  };
  Result<std::vector<SubjectNumber>> numbers_of_subject(const Caller& c, const std::string& id_number,
                                                        const std::string& mrz);
  Result<std::int64_t> delete_subject_by_document(const Caller& c, const std::string& id_number, const std::string& mrz);
  // Clears the failed-attempt locks of this ID (on every device), audited as "lock.clear".
  Result<std::int64_t> clear_locks(const Caller& c, const std::string& id_number, const std::string& mrz);

  // Review queue: clerks, supervisors and admins list it; supervisors and admins resolve, never a
  // case whose check their own key ran (kReviewOwnCase).
  Result<std::vector<ReviewRecord>> list_reviews(const Caller& c, const std::string& status);
  // The same items with their sessions' reasons, quality findings and times.
  Result<std::vector<ReviewItem>> review_items(const Caller& c, const std::string& status);
  Result<ReviewRecord> resolve_review(const Caller& c, const std::string& review_id, const std::string& resolution,
                                      const std::string& comment);

  // Auditor.
  Result<std::vector<AuditEntry>> audit(const Caller& c, std::int64_t after_seq, int limit);
  Result<ChainCheck> verify_audit(const Caller& c);
  // The caller's operator chain (op_seq, op_hash; registry_detail::verify_operator_chain).
  Result<ChainCheck> verify_operator_audit(const Caller& c);
  // Admin: deletes everything about the session's ID holder at this operator.
  Result<std::int64_t> delete_subject(const Caller& c, const std::string& session_id);

  const ServiceConfig& config() const { return cfg_; }
  const CalibrationTable& calibration() const { return calibration_; }
  // Whether the store answers now (for /healthz).  Errors: kStoreUnavailable, kStoreError.
  Status health() { return store_.check_health(); }

 private:
  Service(Store& store, const Vault& vault, CalibrationTable cal, ServiceConfig cfg, Clock clock);
  std::unique_ptr<FaceAnalyzer> acquire();
  void release(std::unique_ptr<FaceAnalyzer> a);
  Result<SessionRecord> open_session(const Caller& c, const std::string& session_id, bool require_consent);
  bool locked(const std::string& scope);
  // kRateLimited (with retry_after_s) when this ID is locked, or this device for this ID.
  Status check_locks(const std::string& operator_id, const std::string& id_hash, const std::string& device);
  // The keyed hash of a document's identity ("CN:<number>" or "<state>:<document number>").
  Result<std::string> subject_hash(const std::string& id_number, const std::string& mrz);
  void count_failure(const std::string& scope);
  // Liveness of one live capture (service_liveness.cpp).
  Result<LivenessOutcome> check_liveness(const SessionRecord& s, const cv::Mat& live, const FaceAnalysis& fa,
                                         std::span<const EncodedFrame> frames);

  Store& store_;
  const Vault& vault_;
  CalibrationTable calibration_;
  ServiceConfig cfg_;
  Clock now_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<FaceAnalyzer>> pool_;
  std::unique_ptr<FaceAnalyzer> prototype_;
  std::shared_ptr<LivenessEngine> liveness_;
};

// The keyed hash the store knows a document holder by: "CN:<number>" for a resident ID number,
// "<issuing state>:<document number>" for an MRZ.  Errors: kBadRequest (neither), kDocumentInvalid.
Result<std::string> document_subject_hash(const Vault& vault, const std::string& id_number, const std::string& mrz,
                                          std::int64_t now);
// Clears every failed-attempt lock and count of this holder at the operator (all devices), with one
// "lock.clear" audit entry by `actor`.  Used by the admin route and `simkyc locks clear`.
Result<std::int64_t> clear_subject_locks(Store& store, const std::string& operator_id, const std::string& id_hash,
                                         const std::string& actor);

// Normalises a phone number to E.164 ("+" and 8-15 digits; spaces, dashes, dots and brackets
// dropped).  Mainland China numbers as clerks type them: "13800138000", "86-138 0013 8000",
// "0086 138...", "+86 138 0013 8000" -> "+8613800138000"; a +86 mobile number must be 11 digits
// starting 13-19.
std::optional<std::string> normalize_phone(std::string_view input);

}  // namespace simkyc
