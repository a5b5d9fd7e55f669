// Issue 14: registration rules a counter can rely on, through a real `simkyc serve` (real SQLite,
// real models, real photos): the registration window, retakes, online frames, locks, releasing
// numbers, consent, the operator's audit chain, HTTP-level refusals, and docs/openapi.yaml
// against what the service answers.
#include <sodium.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "api/server.h"
#include "api_process.h"
#include "core/file.h"
#include "document/id_number.h"
#include "registry/detail_audit.h"
#include "test_helpers.h"

using nlohmann::json;
using simkyc::test::face;
using simkyc::test::run;
using simkyc::test::ServeProcess;
namespace fs = std::filesystem;

namespace {

constexpr const char* kId1 = "11010519491231002X";
constexpr const char* kId2 = "110101199003077416";
const char* kConfig = R"({"channel_fmr": {"counter": 1e-3, "online": 1e-4}, "review_fmr": 1e-2)";

std::string config(const std::string& extra = "") { return std::string(kConfig) + extra + "}"; }

fs::path temp(const std::string& name) {
  return fs::temp_directory_path() / ("simkyc-rules-" + name + "-" + std::to_string(getpid()));
}

std::string b64_bytes(const std::string& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();
  return out;
}
std::string b64(const std::string& path) { return b64_bytes(simkyc::read_text_file(path, 10u << 20).value()); }
std::string b64_mat(const cv::Mat& m) {
  std::vector<unsigned char> buf;
  cv::imencode(".jpg", m, buf);
  return b64_bytes(std::string(buf.begin(), buf.end()));
}

// The statuses docs/openapi.yaml lists per (method, path): a line reader for the spec's layout
// (paths at 2 spaces, methods at 4, response codes at 8, quoted).
std::map<std::pair<std::string, std::string>, std::set<int>> spec_statuses() {
  std::ifstream f(std::string(SIMKYC_SOURCE_DIR) + "/docs/openapi.yaml");
  std::map<std::pair<std::string, std::string>, std::set<int>> out;
  std::string line, path, method;
  bool in_paths = false, in_responses = false;
  const std::regex path_re(R"(^  (/[^:]*):\s*$)"), method_re(R"(^    (get|post|put|patch|delete):\s*$)"),
      status_re(R"re(^        "(\d{3})":)re");
  std::smatch m;
  while (std::getline(f, line)) {
    if (line.rfind("paths:", 0) == 0) in_paths = true;
    else if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = false;
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_re)) path = m[1], method.clear(), in_responses = false;
    else if (std::regex_match(line, m, method_re)) {
      method = m[1];
      for (auto& ch : method) ch = static_cast<char>(std::toupper(ch));
      out[{method, path}];
      in_responses = false;
    } else if (line.rfind("      responses:", 0) == 0) in_responses = true;
    else if (in_responses && !method.empty() && std::regex_search(line, m, status_re))
      out[{method, path}].insert(std::stoi(m[1]));
  }
  return out;
}

// The route template a concrete path belongs to ("" when none).
std::string route_of(const std::string& method, const std::string& path) {
  for (const auto& r : simkyc::api_routes()) {
    const std::regex re(std::regex_replace(r.path, std::regex(R"(\{id\})"), "[A-Za-z0-9_]+"));
    if (r.method == method && std::regex_match(path, re)) return r.path;
  }
  return "";
}

// A client that records every (method, route, status) it saw, so each test can check that the
// spec lists what the service answered.
struct Api {
  httplib::Client c;
  std::vector<std::tuple<std::string, std::string, int>>* seen;

  json record(const std::string& method, const std::string& path, const httplib::Result& r, int* status,
              httplib::Headers* headers = nullptr) {
    *status = r ? r->status : -1;
    if (headers && r) *headers = r->headers;
    const std::string route = route_of(method, path.substr(0, path.find('?')));
    if (r && !route.empty()) seen->emplace_back(method, route, r->status);
    return r ? json::parse(r->body, nullptr, false) : json();
  }
  json post(const std::string& path, const json& body, int* st, httplib::Headers* h = nullptr) {
    return record("POST", path, c.Post(path.c_str(), body.dump(), "application/json"), st, h);
  }
  json get(const std::string& path, int* st) { return record("GET", path, c.Get(path.c_str()), st); }
  json del(const std::string& path, int* st) { return record("DELETE", path, c.Delete(path.c_str()), st); }
};

class Rules : public ::testing::Test {
 protected:
  std::vector<std::tuple<std::string, std::string, int>> seen;
  Api api(const ServeProcess& srv, const std::string& key) { return Api{srv.client(key), &seen}; }
  // Every status the service answered is in docs/openapi.yaml for that method and route.
  void TearDown() override {
    const auto spec = spec_statuses();
    for (const auto& [method, route, status] : seen) {
      const auto it = spec.find({method, route});
      ASSERT_NE(it, spec.end()) << method << " " << route << " is not in docs/openapi.yaml";
      EXPECT_TRUE(it->second.count(status)) << method << " " << route << " answered " << status
                                            << ", which docs/openapi.yaml does not list";
    }
  }
};

// Session -> consent -> document (JSON) -> live.  Returns {session id, live body}.
std::pair<std::string, json> verify(Api& a, const std::string& id_number, const std::string& portrait_b64,
                                    const std::string& live_b64, const std::string& device = "counter-1",
                                    int* live_status = nullptr) {
  int st = 0;
  const json s = a.post("/v1/sessions", {{"channel", "counter"}, {"device_id", device}}, &st);
  EXPECT_EQ(st, 201) << s.dump();
  const std::string id = s.value("session_id", "");
  a.post("/v1/sessions/" + id + "/consent", {{"accepted", true}, {"version", "2026-01"}}, &st);
  EXPECT_EQ(st, 200);
  const json d = a.post("/v1/sessions/" + id + "/document", {{"id_number", id_number}, {"portrait", portrait_b64}}, &st);
  if (st != 200) {
    if (live_status) *live_status = st;
    return {id, d};
  }
  const json l = a.post("/v1/sessions/" + id + "/live", {{"image", live_b64}}, &st);
  if (live_status) *live_status = st;
  else EXPECT_EQ(st, 200) << l.dump();
  return {id, l};
}

std::vector<json> audit_entries(Api& auditor) {
  int st = 0;
  std::vector<json> out;
  std::int64_t after = 0;
  for (;;) {
    const json page = auditor.get("/v1/audit?limit=1000&after=" + std::to_string(after), &st);
    EXPECT_EQ(st, 200);
    if (!page.contains("entries") || page["entries"].empty()) break;
    for (const auto& e : page["entries"]) out.push_back(e), after = e["seq"].get<std::int64_t>();
  }
  return out;
}

int count_action(const std::vector<json>& entries, const std::string& action, const std::string& subject = "") {
  int n = 0;
  for (const auto& e : entries)
    if (e["action"] == action && (subject.empty() || e["subject"] == subject)) ++n;
  return n;
}

}  // namespace

// A PASS registers numbers only within registration_window_s of the decision; later: 410.
TEST_F(Rules, PassRegistersOnlyWithinTheWindowAndOnlyForItsOwnId) {
  ServeProcess srv(temp("window"), config(R"(, "registration_window_s": 4)"));
  auto c = api(srv, srv.key("op1", "clerk"));
  auto [id, live] = verify(c, kId1, b64(face("jolie-1.jpg")), b64(face("jolie-2.jpg")));
  ASSERT_EQ(live["decision"], "PASS") << live.dump();
  int st = 0;
  c.post("/v1/sessions/" + id + "/registrations", {{"phone_number", "+8613800000001"}}, &st);
  EXPECT_EQ(st, 201);
  // The number goes to the session's own ID: the request cannot name another one.
  const json other = c.post("/v1/sessions/" + id + "/registrations",
                            {{"phone_number", "+8613800000002"}, {"id_number", kId2}}, &st);
  EXPECT_EQ(st, 400);
  EXPECT_EQ(other["code"], "UNKNOWN_FIELD");
  std::this_thread::sleep_for(std::chrono::seconds(5));
  const json late = c.post("/v1/sessions/" + id + "/registrations", {{"phone_number", "+8613800000003"}}, &st);
  EXPECT_EQ(st, 410) << late.dump();
  EXPECT_EQ(late["code"], "REGISTRATION_WINDOW_EXPIRED");
  // Listing the holder's numbers stays possible.
  EXPECT_EQ(c.get("/v1/sessions/" + id + "/registrations", &st)["numbers"].size(), 1u);
}

// The window is never longer than the session TTL (the issue's case: TTL 5 s, PASS, 6 s later).
TEST_F(Rules, WindowIsBoundedByTheSessionTtl) {
  ServeProcess srv(temp("ttl"), config(R"(, "session_ttl_s": 30)"));
  auto c = api(srv, srv.key("op1", "clerk"));
  auto [id, live] = verify(c, kId1, b64(face("jolie-1.jpg")), b64(face("jolie-2.jpg")));
  ASSERT_EQ(live["decision"], "PASS") << live.dump();
  int st = 0;
  // registration_window_s is 600 by default: only the TTL (30 s) can end the window this soon.
  std::this_thread::sleep_for(std::chrono::seconds(32));
  EXPECT_EQ(c.post("/v1/sessions/" + id + "/registrations", {{"phone_number", "+8613800000004"}}, &st)["code"],
            "REGISTRATION_WINDOW_EXPIRED");
  EXPECT_EQ(st, 410);
}

// A second face in the live photo, and no face in it, are retakes (422), as on the document step.
TEST_F(Rules, SecondFaceOrNoFaceInTheLivePhotoIsARetake) {
  ServeProcess srv(temp("retake"), config());
  auto c = api(srv, srv.key("op1", "clerk"));
  int st = 0;
  const json s = c.post("/v1/sessions", {{"channel", "counter"}, {"device_id", "d1"}}, &st);
  const std::string id = s["session_id"];
  c.post("/v1/sessions/" + id + "/consent", {{"accepted", true}, {"version", "2026-01"}}, &st);
  c.post("/v1/sessions/" + id + "/document", {{"id_number", kId1}, {"portrait", b64(face("jolie-1.jpg"))}}, &st);
  ASSERT_EQ(st, 200);
  // Two faces of the same size side by side (the photo and its mirror image): a second person.
  cv::Mat a = cv::imread(face("jolie-2.jpg")), b2, two;
  cv::flip(a, b2, 1);
  cv::hconcat(a, b2, two);
  json r = c.post("/v1/sessions/" + id + "/live", {{"image", b64_mat(two)}}, &st);
  EXPECT_EQ(st, 422) << r.dump();
  EXPECT_EQ(r["code"], "MULTIPLE_FACES");
  // The same two-face photo as the document portrait: the same answer.
  const json s2 = c.post("/v1/sessions", {{"channel", "counter"}, {"device_id", "d1"}}, &st);
  const std::string id2 = s2["session_id"];
  c.post("/v1/sessions/" + id2 + "/consent", {{"accepted", true}, {"version", "2026-01"}}, &st);
  EXPECT_EQ(c.post("/v1/sessions/" + id2 + "/document", {{"id_number", kId1}, {"portrait", b64_mat(two)}}, &st)["code"],
            "MULTIPLE_FACES");
  EXPECT_EQ(st, 422);
  // No face: a plain patch of the photo's background.
  cv::Mat empty = a(cv::Rect(0, 0, std::min(40, a.cols), std::min(40, a.rows))).clone(), big;
  cv::resize(empty, big, cv::Size(320, 320));
  r = c.post("/v1/sessions/" + id + "/live", {{"image", b64_mat(big)}}, &st);
  EXPECT_EQ(st, 422) << r.dump();
  EXPECT_EQ(r["code"], "NO_FACE");
  EXPECT_EQ(c.get("/v1/sessions/" + id, &st)["state"], "open");
  // The retake decides.
  r = c.post("/v1/sessions/" + id + "/live", {{"image", b64(face("jolie-2.jpg"))}}, &st);
  EXPECT_EQ(st, 200);
  EXPECT_EQ(r["decision"], "PASS") << r.dump();
}

// Online without frames: 400 (frames are required), not a FAIL, and not counted for the lock.
TEST_F(Rules, OnlineLiveWithoutFramesIsABadRequestNotAFail) {
  ServeProcess srv(temp("frames"), config(R"(, "rate_max_failures": 2)"));
  auto c = api(srv, srv.key("op1", "clerk"));
  int st = 0;
  const json s = c.post("/v1/sessions", {{"channel", "online"}, {"device_id", "app-1"}}, &st);
  const std::string id = s["session_id"];
  c.post("/v1/sessions/" + id + "/consent", {{"accepted", true}, {"version", "2026-01"}}, &st);
  c.post("/v1/sessions/" + id + "/document", {{"id_number", kId1}, {"portrait", b64(face("jolie-1.jpg"))}}, &st);
  ASSERT_EQ(st, 200);
  for (int i = 0; i < 4; ++i) {
    const json r = c.post("/v1/sessions/" + id + "/live", {{"image", b64(face("jolie-2.jpg"))}}, &st);
    EXPECT_EQ(st, 400) << r.dump();
    EXPECT_EQ(r["code"], "LIVENESS_CHALLENGE_REQUIRED");
    EXPECT_NE(r.value("message", "").find("frames are required"), std::string::npos) << r.dump();
  }
  const json got = c.get("/v1/sessions/" + id, &st);
  EXPECT_EQ(got["state"], "open");
  EXPECT_TRUE(got["decision"].is_null());
  // Not counted: the same ID still starts on a counter.
  auto [cid, live] = verify(c, kId1, b64(face("jolie-1.jpg")), b64(face("jolie-2.jpg")), "counter-9");
  EXPECT_EQ(live["decision"], "PASS") << live.dump();
}

// Failures lock the ID (and the device for that ID), not the counter for every customer; the
// lock is checked at the document step, says when it ends, and an admin can clear it.
TEST_F(Rules, LocksAreCheckedEarlyCarryRetryAfterAndCanBeCleared) {
  ServeProcess srv(temp("locks"), config(R"(, "rate_max_failures": 2, "rate_lock_s": 120)"));
  auto c = api(srv, srv.key("op1", "clerk"));
  for (int i = 0; i < 2; ++i) {
    auto [id, r] = verify(c, kId2, b64(face("jolie-1.jpg")), b64(face("other-8.jpg")), "counter-lock");
    EXPECT_EQ(r["decision"], "FAIL") << r.dump();
  }
  // The next customer at the same counter is not locked out.
  auto [okid, ok] = verify(c, kId1, b64(face("jolie-1.jpg")), b64(face("jolie-2.jpg")), "counter-lock");
  EXPECT_EQ(ok["decision"], "PASS") << ok.dump();
  // The locked ID is told at the document step, before a face is taken, with Retry-After.
  int st = 0;
  httplib::Headers h;
  const json s = c.post("/v1/sessions", {{"channel", "counter"}, {"device_id", "counter-other"}}, &st);
  const std::string id = s["session_id"];
  c.post("/v1/sessions/" + id + "/consent", {{"accepted", true}, {"version", "2026-01"}}, &st);
  const json locked =
      c.post("/v1/sessions/" + id + "/document", {{"id_number", kId2}, {"portrait", b64(face("jolie-1.jpg"))}}, &st, &h);
  EXPECT_EQ(st, 429) << locked.dump();
  EXPECT_EQ(locked["code"], "RATE_LIMITED");
  ASSERT_EQ(h.count("Retry-After"), 1u);
  const int retry = std::stoi(h.find("Retry-After")->second);
  EXPECT_GT(retry, 100);
  EXPECT_LE(retry, 120);
  // Only an admin unlocks, by ID number; audited.
  c.post("/v1/locks/clear", {{"id_number", kId2}}, &st);
  EXPECT_EQ(st, 403);
  auto admin = api(srv, srv.key("op1", "admin"));
  const json cleared = admin.post("/v1/locks/clear", {{"id_number", kId2}}, &st);
  EXPECT_EQ(st, 200) << cleared.dump();
  EXPECT_GT(cleared["cleared"].get<int>(), 0);
  c.post("/v1/sessions/" + id + "/document", {{"id_number", kId2}, {"portrait", b64(face("jolie-1.jpg"))}}, &st);
  EXPECT_EQ(st, 200);
  // The CLI clears a lock too (actor "cli").
  for (int i = 0; i < 2; ++i) verify(c, kId2, b64(face("jolie-1.jpg")), b64(face("other-8.jpg")), "counter-lock");
  int lst = 0;
  verify(c, kId2, b64(face("jolie-1.jpg")), b64(face("jolie-2.jpg")), "counter-x", &lst);
  EXPECT_EQ(lst, 429);
  const auto cli = run(std::string(SIMKYC_BINARY) + " locks clear --store " + srv.db() + " --operator op1 --id-number " +
                       kId2 + " --json 2>/dev/null");
  EXPECT_EQ(cli.code, 0) << cli.out;
  auto [nid, nr] = verify(c, kId2, b64(face("jolie-1.jpg")), b64(face("jolie-2.jpg")), "counter-x");
  EXPECT_EQ(nr["decision"], "PASS") << nr.dump();
  auto auditor = api(srv, srv.key("op1", "auditor"));
  const auto entries = audit_entries(auditor);
  EXPECT_EQ(count_action(entries, "lock.clear"), 2);
  bool by_cli = false;
  for (const auto& e : entries) by_cli |= e["action"] == "lock.clear" && e["actor"] == "cli";
  EXPECT_TRUE(by_cli);
}

// Numbers are released by the holder's operator (audited); an admin lists them and deletes the
// subject by ID number.
TEST_F(Rules, NumbersAreReleasedListedAndDeletedByIdNumber) {
  ServeProcess srv(temp("release"), config(R"(, "number_limit": 2)"));
  auto c = api(srv, srv.key("op1", "clerk"));
  auto [id, live] = verify(c, kId1, b64(face("jolie-1.jpg")), b64(face("jolie-2.jpg")));
  ASSERT_EQ(live["decision"], "PASS");
  int st = 0;
  const json r1 = c.post("/v1/sessions/" + id + "/registrations", {{"phone_number", "+8613900000001"}}, &st);
  ASSERT_EQ(st, 201);
  c.post("/v1/sessions/" + id + "/registrations", {{"phone_number", "+8613900000002"}}, &st);
  ASSERT_EQ(st, 201);
  EXPECT_EQ(c.post("/v1/sessions/" + id + "/registrations", {{"phone_number", "+8613900000003"}}, &st)["code"],
            "NUMBER_LIMIT_REACHED");
  const std::string rid = r1["registration_id"];
  auto other = api(srv, srv.key("op2", "clerk"));
  other.del("/v1/registrations/" + rid, &st);
  EXPECT_EQ(st, 404);   // another operator's number
  const json rel = c.del("/v1/registrations/" + rid, &st);
  EXPECT_EQ(st, 200) << rel.dump();
  c.del("/v1/registrations/" + rid, &st);
  EXPECT_EQ(st, 404);   // already released
  c.post("/v1/sessions/" + id + "/registrations", {{"phone_number", "+8613900000003"}}, &st);
  EXPECT_EQ(st, 201);   // the released slot is free again
  c.post("/v1/subjects/numbers", {{"id_number", kId1}}, &st);
  EXPECT_EQ(st, 403);
  auto admin = api(srv, srv.key("op1", "admin"));
  const json nums = admin.post("/v1/subjects/numbers", {{"id_number", kId1}}, &st);
  ASSERT_EQ(st, 200) << nums.dump();
  ASSERT_EQ(nums["numbers"].size(), 3u);
  int active = 0;
  for (const auto& n : nums["numbers"]) active += n["active"].get<bool>();
  EXPECT_EQ(active, 2);
  EXPECT_EQ(admin.post("/v1/subjects/numbers", {{"id_number", kId2}}, &st)["numbers"].size(), 0u);
  EXPECT_EQ(admin.post("/v1/subjects/numbers", {{"id_number", "110105194912310021"}}, &st)["code"], "DOCUMENT_INVALID");
  const json del = admin.post("/v1/subjects/delete", {{"id_number", kId1}}, &st);
  EXPECT_EQ(st, 200) << del.dump();
  EXPECT_GT(del["deleted"].get<int>(), 0);
  c.get("/v1/sessions/" + id, &st);
  EXPECT_EQ(st, 404);
  auto auditor = api(srv, srv.key("op1", "auditor"));
  const auto entries = audit_entries(auditor);
  EXPECT_EQ(count_action(entries, "registration.release", rid), 1);
  EXPECT_EQ(count_action(entries, "subject.delete"), 1);
}

// A refusal is recorded; consenting twice is one record.
TEST_F(Rules, ConsentRefusalIsRecordedAndConsentIsIdempotent) {
  ServeProcess srv(temp("consent"), config());
  auto c = api(srv, srv.key("op1", "clerk"));
  int st = 0;
  const std::string a = c.post("/v1/sessions", {{"channel", "counter"}}, &st)["session_id"];
  const json no = c.post("/v1/sessions/" + a + "/consent", {{"accepted", false}, {"version", "2026-01"}}, &st);
  EXPECT_EQ(st, 200) << no.dump();
  EXPECT_EQ(no["consent"], "refused");
  c.post("/v1/sessions/" + a + "/document", {{"id_number", kId1}, {"portrait", b64(face("jolie-1.jpg"))}}, &st);
  EXPECT_EQ(st, 409);
  const std::string b = c.post("/v1/sessions", {{"channel", "counter"}}, &st)["session_id"];
  for (int i = 0; i < 2; ++i) {
    c.post("/v1/sessions/" + b + "/consent", {{"accepted", true}, {"version", "2026-01"}}, &st);
    EXPECT_EQ(st, 200);
  }
  c.post("/v1/sessions/" + b + "/consent", {{"accepted", false}, {"version", "2026-01"}}, &st);
  EXPECT_EQ(st, 400);   // consent given: refusing now needs a new session
  c.post("/v1/sessions/" + b + "/consent", {{"version", "2026-01"}}, &st);
  EXPECT_EQ(st, 400);   // accepted is required
  auto auditor = api(srv, srv.key("op1", "auditor"));
  const auto entries = audit_entries(auditor);
  EXPECT_EQ(count_action(entries, "consent.refuse", a), 1);
  EXPECT_EQ(count_action(entries, "consent", b), 1);
}

// The review comment is in the audit entry, and an operator's /v1/audit is its own gap-free chain.
TEST_F(Rules, ReviewCommentIsAuditedAndEachOperatorHasItsOwnChain) {
  ServeProcess srv(temp("audit"), config());
  auto c1 = api(srv, srv.key("op1", "clerk"));
  auto c2 = api(srv, srv.key("op2", "clerk"));
  cv::Mat img = cv::imread(face("jolie-2.jpg")), blurred;
  cv::GaussianBlur(img, blurred, cv::Size(0, 0), 5.0);
  auto [id, live] = verify(c1, kId1, b64(face("jolie-1.jpg")), b64_mat(blurred));
  ASSERT_EQ(live["decision"], "REVIEW") << live.dump();
  verify(c2, kId2, b64(face("jolie-1.jpg")), b64(face("jolie-2.jpg")));   // op2 entries in between
  int st = 0;
  const json q = c1.get("/v1/reviews", &st);
  ASSERT_EQ(q["reviews"].size(), 1u);
  const std::string rid = q["reviews"][0]["review_id"];
  const std::string comment = "same person; the live photo is blurred";
  auto sup1 = api(srv, srv.key("op1", "supervisor"));   // clerks do not resolve reviews (issue 13)
  sup1.post("/v1/reviews/" + rid + "/resolve", {{"resolution", "PASS"}, {"comment", comment}}, &st);
  ASSERT_EQ(st, 200);
  c1.get("/v1/reviews?status=bogus", &st);
  EXPECT_EQ(st, 400);
  EXPECT_EQ(c1.get("/v1/reviews?status=all", &st)["reviews"].size(), 1u);
  // A reviewed PASS registers (its window starts at the resolution).
  c1.post("/v1/sessions/" + id + "/registrations", {{"phone_number", "+8613700000001"}}, &st);
  EXPECT_EQ(st, 201);
  verify(c2, kId2, b64(face("jolie-1.jpg")), b64(face("jolie-2.jpg")));
  auto auditor = api(srv, srv.key("op1", "auditor"));
  const auto entries = audit_entries(auditor);
  bool saw_comment = false;
  std::vector<simkyc::AuditEntry> chain;
  for (const auto& e : entries) {
    if (e["action"] == "review.resolve") saw_comment = e["details"].value("comment", "") == comment;
    simkyc::AuditEntry a;
    a.seq = e["seq"];
    a.ts = e["ts"];
    a.operator_id = "op1";
    a.actor = e["actor"];
    a.action = e["action"];
    a.subject = e["subject"];
    a.details_json = e["details"].dump();
    a.prev_hash = e["prev_hash"];
    a.hash = e["hash"];
    a.op_seq = e["op_seq"];
    a.op_prev_hash = e["op_prev_hash"];
    a.op_hash = e["op_hash"];
    chain.push_back(a);
  }
  EXPECT_TRUE(saw_comment);
  ASSERT_GT(chain.size(), 5u);
  bool gap_in_global = false;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    EXPECT_EQ(chain[i].op_seq, static_cast<std::int64_t>(i + 1));
    if (i > 0 && chain[i].seq != chain[i - 1].seq + 1) gap_in_global = true;
  }
  EXPECT_TRUE(gap_in_global) << "op2's entries should sit between op1's in the global chain";
  const auto check = simkyc::registry_detail::verify_operator_chain(chain);
  EXPECT_TRUE(check.ok) << check.problem;
  // The service checks the caller's chain too, and the CLI the global one.
  const json v = auditor.get("/v1/audit/verify", &st);
  EXPECT_TRUE(v["ok"].get<bool>()) << v.dump();
  EXPECT_TRUE(v["operator_chain"]["ok"].get<bool>()) << v.dump();
  EXPECT_EQ(v["operator_chain"]["entries"].get<std::size_t>(), chain.size());
  // An edited entry breaks the operator's chain.
  chain[2].details_json = R"({"edited":true})";
  EXPECT_FALSE(simkyc::registry_detail::verify_operator_chain(chain).ok);
  EXPECT_EQ(run(std::string(SIMKYC_BINARY) + " audit verify --store " + srv.db() + " >/dev/null 2>&1").code, 0);
}

// HTTP-level refusals: media type, body size, routes and methods, query values, unknown fields,
// data URLs.
TEST_F(Rules, HttpRefusalsHaveTheirOwnCodes) {
  ServeProcess srv(temp("http"), config());
  const std::string key = srv.key("op1", "clerk");
  auto c = api(srv, key);
  int st = 0;
  const std::string auth = "Authorization: Bearer " + key + "\r\n";
  const std::string body = R"({"channel":"counter"})";
  std::string r = srv.raw("POST /v1/sessions HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: " +
                          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  EXPECT_NE(r.find("HTTP/1.1 415"), std::string::npos) << r;
  EXPECT_NE(r.find("UNSUPPORTED_MEDIA_TYPE"), std::string::npos) << r;
  auto form = c.c.Post("/v1/sessions", "channel=counter", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);
  // A large JSON body on a route without images.
  const json big = c.post("/v1/sessions", {{"channel", "counter"}, {"device_id", std::string(80 << 10, 'x')}}, &st);
  EXPECT_EQ(st, 413);
  EXPECT_EQ(big["code"], "JSON_BODY_TOO_LARGE");
  auto huge = c.c.Post("/v1/sessions", std::string(30u << 20, ' '), "application/json");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  // Over the 24 MiB limit of every route: refused from its Content-Length (issue 16), before routing.
  EXPECT_EQ(json::parse(huge->body, nullptr, false).value("code", ""), "PAYLOAD_TOO_LARGE");
  // Unknown route 404, known route with another method 405 with Allow.
  auto nope = c.c.Get("/v1/nope");
  ASSERT_TRUE(nope);
  EXPECT_EQ(nope->status, 404);
  EXPECT_EQ(json::parse(nope->body, nullptr, false).value("code", ""), "NOT_FOUND");
  auto put = c.c.Put("/v1/sessions", body, "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  EXPECT_EQ(put->get_header_value("Allow"), "POST");
  EXPECT_EQ(json::parse(put->body, nullptr, false).value("code", ""), "METHOD_NOT_ALLOWED");
  auto getlive = c.c.Get("/v1/sessions/s_abc/live");
  ASSERT_TRUE(getlive);
  EXPECT_EQ(getlive->status, 405);
  EXPECT_EQ(getlive->get_header_value("Allow"), "POST");
  auto regs = c.c.Delete("/v1/sessions/s_abc/registrations");
  ASSERT_TRUE(regs);
  EXPECT_EQ(regs->status, 405);
  EXPECT_EQ(regs->get_header_value("Allow"), "POST, GET");
  // Unknown fields are named.
  const json typo = c.post("/v1/sessions", {{"channel", "counter"}, {"devce_id", "x"}}, &st);
  EXPECT_EQ(st, 400);
  EXPECT_EQ(typo["code"], "UNKNOWN_FIELD");
  EXPECT_NE(typo.value("message", "").find("'devce_id'"), std::string::npos) << typo.dump();
  // A data URL, as a browser's FileReader gives it.
  const std::string id = c.post("/v1/sessions", {{"channel", "counter"}}, &st)["session_id"];
  c.post("/v1/sessions/" + id + "/consent", {{"accepted", true}, {"version", "2026-01"}}, &st);
  const json d = c.post("/v1/sessions/" + id + "/document",
                        {{"id_number", kId1}, {"portrait", "data:image/jpeg;base64," + b64(face("jolie-1.jpg"))}}, &st);
  EXPECT_EQ(st, 200) << d.dump();
  c.post("/v1/sessions/" + id + "/live", {{"image", "data:text/plain;base64,aGVsbG8="}}, &st);
  EXPECT_EQ(st, 400);
  const json l = c.post("/v1/sessions/" + id + "/live", {{"image", "data:image/jpeg;base64," + b64(face("jolie-2.jpg"))}}, &st);
  EXPECT_EQ(st, 200);
  EXPECT_EQ(l["decision"], "PASS") << l.dump();
}

// `simkyc document check` and the service agree on a customer who is exactly 16 today: a minor
// (under 18) who needs no guardian (guardian_age 16), decided by document::needs_guardian.
TEST_F(Rules, DocumentCheckAndServiceAgreeAtExactlySixteen) {
  const std::time_t now = std::time(nullptr);
  std::tm t{};
  gmtime_r(&now, &t);
  const int day = (t.tm_mon == 1 && t.tm_mday == 29) ? 28 : t.tm_mday;
  char birth[48], today[48];
  std::snprintf(birth, sizeof birth, "%04d%02d%02d", t.tm_year + 1900 - 16, t.tm_mon + 1, day);
  std::snprintf(today, sizeof today, "%04d-%02d-%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday);
  std::string number = std::string("110105") + birth + "002";
  number += simkyc::document::id_number_check_char(number);
  const auto cli = run(std::string(SIMKYC_BINARY) + " document check --id-number " + number + " --at " + today +
                       " --json 2>/dev/null");
  const json cj = json::parse(cli.out, nullptr, false);
  ASSERT_TRUE(cj.is_object()) << cli.out;
  EXPECT_EQ(cj["age"], 16);
  ServeProcess srv(temp("minor"), config());
  auto c = api(srv, srv.key("op1", "clerk"));
  int st = 0;
  const std::string id = c.post("/v1/sessions", {{"channel", "counter"}}, &st)["session_id"];
  c.post("/v1/sessions/" + id + "/consent", {{"accepted", true}, {"version", "2026-01"}}, &st);
  const json d = c.post("/v1/sessions/" + id + "/document", {{"id_number", number}, {"portrait", b64(face("jolie-1.jpg"))}}, &st);
  ASSERT_EQ(st, 200) << d.dump();
  EXPECT_EQ(d["document"]["minor"], cj["minor"]);
  EXPECT_EQ(d["document"]["minor"], true);
  EXPECT_EQ(d["document"]["needs_guardian"], cj["needs_guardian"]);
  EXPECT_EQ(d["document"]["needs_guardian"], false);
  const json l = c.post("/v1/sessions/" + id + "/live", {{"image", b64(face("jolie-2.jpg"))}}, &st);
  EXPECT_EQ(l["decision"], "PASS") << l.dump();   // 16: no guardian review
}

// Every route of the server is in docs/openapi.yaml with its method and back, and each route
// answers with a status the spec lists (the recorder checks every request of this file).
TEST_F(Rules, OpenApiListsEveryRouteAndStatus) {
  const auto spec = spec_statuses();
  std::set<std::pair<std::string, std::string>> table;
  for (const auto& r : simkyc::api_routes()) {
    table.insert({r.method, r.path});
    EXPECT_TRUE(spec.count({r.method, r.path})) << r.method << " " << r.path << " is missing from docs/openapi.yaml";
  }
  for (const auto& [k, statuses] : spec) {
    EXPECT_TRUE(table.count(k)) << k.first << " " << k.second << " is in the spec but not served";
    EXPECT_FALSE(statuses.empty()) << k.first << " " << k.second << " lists no status";
  }
  // A sweep of the routes this file's other tests do not reach, each with an error too.
  ServeProcess srv(temp("spec"), config());
  auto c = api(srv, srv.key("op1", "clerk"));
  auto admin = api(srv, srv.key("op1", "admin"));
  auto auditor = api(srv, srv.key("op1", "auditor"));
  auto anon = api(srv, "");
  int st = 0;
  anon.get("/healthz", &st);
  EXPECT_EQ(st, 200);
  auto m = c.c.Get("/metrics");
  ASSERT_TRUE(m);
  seen.emplace_back("GET", "/metrics", m->status);
  for (const char* p : {"/v1/sessions/s_x", "/v1/sessions/s_x/registrations", "/v1/reviews", "/v1/audit", "/v1/audit/verify"}) {
    anon.get(p, &st);
    EXPECT_EQ(st, 401) << p;
  }
  auditor.get("/v1/audit", &st);
  EXPECT_EQ(st, 200);
  auditor.get("/v1/audit?after=x", &st);
  EXPECT_EQ(st, 400);
  c.get("/v1/audit/verify", &st);
  EXPECT_EQ(st, 403);
  admin.post("/v1/keys", {{"role", "clerk"}}, &st);
  EXPECT_EQ(st, 201);
  admin.post("/v1/keys", {{"role", "root"}}, &st);
  EXPECT_EQ(st, 400);
  c.post("/v1/keys", {{"role", "clerk"}}, &st);
  EXPECT_EQ(st, 403);
  admin.del("/v1/sessions/s_nope/subject", &st);
  EXPECT_EQ(st, 404);
  c.del("/v1/sessions/s_nope/subject", &st);
  EXPECT_EQ(st, 403);
  c.post("/v1/reviews/rv_nope/resolve", {{"resolution", "PASS"}, {"comment", "x"}}, &st);
  EXPECT_EQ(st, 403);   // clerks do not resolve reviews (issue 13)
  api(srv, srv.key("op1", "supervisor")).post("/v1/reviews/rv_nope/resolve", {{"resolution", "PASS"}, {"comment", "x"}}, &st);
  EXPECT_EQ(st, 404);
  c.get("/v1/sessions/s_nope/registrations", &st);
  EXPECT_EQ(st, 404);
  c.post("/v1/sessions/s_nope/live", {{"image", b64(face("jolie-2.jpg"))}}, &st);
  EXPECT_EQ(st, 404);
  admin.post("/v1/subjects/delete", json::object(), &st);
  EXPECT_EQ(st, 400);
  admin.post("/v1/locks/clear", {{"mrz", "nonsense"}}, &st);
  EXPECT_EQ(st, 422);
}
