// Secrets and personal data (issue 16): a full flow through `simkyc serve` with logging at
// debug, then the log, /metrics and every error answer are searched for the test's ID number,
// name, phone number and the base64 of its photos; the data key file is owner-only.
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "serve_process.h"
#include "test_helpers.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string b64_file(const std::string& path) {
  auto bytes = simkyc::read_file_limited(path, 10u << 20);
  EXPECT_TRUE(bytes.ok());
  std::string out(sodium_base64_encoded_len(bytes->size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes->data(), bytes->size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();
  return out;
}

}  // namespace

TEST(Privacy, NoPersonalDataInLogsMetricsOrErrors) {
  const fs::path dir = fs::temp_directory_path() / ("simkyc-privacy-" + std::to_string(getpid()));
  fs::remove_all(dir);
  simkyc::test::ServeProcess srv(dir, R"({"channel_fmr": {"counter": 1e-3, "online": 1e-4}, "review_fmr": 1e-2,
                                          "expired_action": "review"})",
                                 {}, "debug");
  const auto key_run = simkyc::test::run(std::string(SIMKYC_BINARY) + " --models " + SIMKYC_MODEL_DIR +
                                         " keys create --store " + (dir / "simkyc.db").string() +
                                         " --operator op1 --role clerk --json 2>/dev/null");
  const std::string api_key = json::parse(key_run.out, nullptr, false).value("key", "");
  ASSERT_FALSE(api_key.empty()) << key_run.out;

  // The personal data of this test.
  const std::string id_number = "11010519491231002X";
  const std::string phone = "+8613912345678", phone_digits = "13912345678";
  const std::string mrz = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
  const std::string portrait = b64_file(simkyc::test::face("jolie-1.jpg"));
  const std::string live = b64_file(simkyc::test::face("jolie-2.jpg"));

  httplib::Client c("127.0.0.1", srv.port());
  c.set_read_timeout(120, 0);
  c.set_default_headers({{"Authorization", "Bearer " + api_key}});
  std::vector<std::string> errors;   // every answer with status >= 400
  auto post = [&](const std::string& path, const json& body) {
    auto r = c.Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    if (r->status >= 400) errors.push_back(path + " " + std::to_string(r->status) + " " + r->body);
    EXPECT_LT(r->status, 500) << path << " " << r->body;
    return json::parse(r->body, nullptr, false);
  };

  // A full registration: session, consent, document (ID number), live, number.
  const std::string sid = post("/v1/sessions", {{"channel", "counter"}, {"device_id", "dev-privacy"}}).value("session_id", "");
  ASSERT_FALSE(sid.empty());
  post("/v1/sessions/" + sid + "/consent", {{"accepted", true}, {"version", "2026-01"}});
  post("/v1/sessions/" + sid + "/document", {{"id_number", id_number}, {"portrait", portrait}});
  const json decision = post("/v1/sessions/" + sid + "/live", {{"image", live}});
  ASSERT_EQ(decision.value("decision", ""), "PASS") << decision.dump();
  // Wrong inputs carrying the personal data, whose error messages must not repeat it.
  post("/v1/sessions/" + sid + "/registrations", {{"phone_number", phone + "x"}});
  post("/v1/sessions/" + sid + "/registrations", {{"phone_number", phone}});
  post("/v1/sessions/" + sid + "/registrations", {{"phone_number", phone}});   // already registered
  // A second session with a passport MRZ (the name) and a broken ID number and photo.
  const std::string sid2 = post("/v1/sessions", {{"channel", "counter"}, {"device_id", "dev-privacy"}}).value("session_id", "");
  post("/v1/sessions/" + sid2 + "/consent", {{"accepted", true}, {"version", "2026-01"}});
  post("/v1/sessions/" + sid2 + "/document", {{"mrz", mrz}, {"portrait", portrait}});
  post("/v1/sessions/" + sid2 + "/document", {{"id_number", "11010519491231002Y"}, {"portrait", portrait.substr(0, 4000)}});
  post("/v1/sessions", {{"channel", "counter"}, {"device_id", "d"}, {"reverify_number", "+8613900000001"}});
  ASSERT_GE(errors.size(), 3u);

  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  srv.stop(SIGTERM);
  const std::string log = srv.log();
  ASSERT_NE(log.find("route=/v1/sessions/{id}/live"), std::string::npos) << "the log is on";

  const std::vector<std::string> secrets = {id_number, "11010519491231002Y", phone, phone_digits, "13900000001",
                                            "ERIKSSON", "ANNA", "L898902C3", portrait.substr(0, 40),
                                            portrait.substr(portrait.size() / 2, 40), live.substr(0, 40),
                                            live.substr(live.size() / 2, 40), api_key};
  for (const auto& s : secrets) {
    EXPECT_EQ(log.find(s), std::string::npos) << "in the log: " << s;
    EXPECT_EQ(metrics->body.find(s), std::string::npos) << "in /metrics: " << s;
    for (const auto& e : errors) EXPECT_EQ(e.find(s), std::string::npos) << "in an error answer: " << e.substr(0, 300);
  }
}

TEST(Privacy, DataKeyFileIsOwnerOnly) {
  const fs::path dir = fs::temp_directory_path() / ("simkyc-keyfile-" + std::to_string(getpid()));
  fs::remove_all(dir);
  {
    simkyc::test::ServeProcess srv(dir, R"({"channel_fmr": {"counter": 1e-3, "online": 1e-4}, "review_fmr": 1e-2})");
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir / "simkyc.key").c_str(), &st), 0) << "serve creates the key beside the store";
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A key file others can read is refused, not used.
  ASSERT_EQ(::chmod((dir / "simkyc.key").c_str(), 0644), 0);
  EXPECT_THROW(simkyc::test::ServeProcess(dir, R"({"channel_fmr": {"counter": 1e-3, "online": 1e-4}})"), std::runtime_error);
  fs::remove_all(dir);
}
