// The `simkyc` command end to end: exit codes, JSON keys, files written.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "policy/verifier.h"
#include "test_helpers.h"

using nlohmann::json;
using simkyc::test::face;
using simkyc::test::run;
namespace fs = std::filesystem;

namespace {
std::string bin() { return std::string(SIMKYC_BINARY) + " --models " + simkyc::test::model_dir(); }
std::string verify(const std::string& a, const std::string& b, const std::string& extra = "") {
  return bin() + " verify --id-photo " + a + " --live " + b + " " + extra + " 2>/dev/null";
}
json parse(const std::string& s) { return json::parse(s, nullptr, /*allow_exceptions=*/false); }
}  // namespace

TEST(Cli, HelpAndUsageErrors) {
  EXPECT_EQ(run(std::string(SIMKYC_BINARY) + " --help >/dev/null").code, 0);
  for (const char* sub : {"verify", "detect", "quality", "compare", "eval", "calibrate", "bench"})
    EXPECT_EQ(run(std::string(SIMKYC_BINARY) + " " + sub + " --help >/dev/null").code, 0) << sub;
  EXPECT_EQ(run(std::string(SIMKYC_BINARY) + " 2>/dev/null").code, 2);
  EXPECT_EQ(run(std::string(SIMKYC_BINARY) + " verify --live x 2>/dev/null").code, 2);
  EXPECT_EQ(run(std::string(SIMKYC_BINARY) + " no-such-command 2>/dev/null").code, 2);
}

TEST(Cli, VerifySamePersonPassesWithJsonKeys) {
  const auto r = verify(face("jolie-1.jpg"), face("jolie-2.jpg"), "--fmr 1e-2 --json");
  const auto res = run(r);
  EXPECT_EQ(res.code, 0) << res.out;
  const json j = parse(res.out);
  ASSERT_TRUE(j.is_object()) << res.out;
  EXPECT_EQ(j["decision"], "PASS");
  for (const char* k : {"decision", "reasons", "score", "threshold", "timings_ms"}) EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"decode", "detect", "landmarks", "align", "embed", "compare", "total"})
    EXPECT_TRUE(j["timings_ms"].contains(k)) << k;
  EXPECT_GE(j["score"].get<double>(), j["threshold"].get<double>());
}

TEST(Cli, VerifyDifferentPeopleFails) {
  const auto res = run(verify(face("jolie-1.jpg"), face("other-13.jpg"), "--json"));
  EXPECT_EQ(res.code, 1);
  const json j = parse(res.out);
  EXPECT_EQ(j["decision"], "FAIL");
  EXPECT_EQ(j["reasons"][0]["code"], "MATCH_BELOW_THRESHOLD");
  const auto text = run(verify(face("jolie-1.jpg"), face("other-8.jpg")));
  EXPECT_EQ(text.code, 1);
  EXPECT_EQ(text.out.rfind("FAIL", 0), 0u) << text.out;
}

TEST(Cli, VerifyInputErrorsExitTwoWithCode) {
  const fs::path dir = fs::temp_directory_path() / "simkyc-cli";
  fs::create_directories(dir);
  std::ofstream(dir / "empty.jpg").close();
  std::ofstream(dir / "garbage.jpg") << "this is not an image at all";
  auto r = run(verify((dir / "empty.jpg").string(), face("jolie-2.jpg"), "--json"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(parse(r.out)["error"]["code"], "IMAGE_EMPTY");
  r = run(verify((dir / "garbage.jpg").string(), face("jolie-2.jpg"), "--json"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(parse(r.out)["error"]["code"], "IMAGE_UNSUPPORTED_FORMAT");
  r = run(verify((dir / "missing.jpg").string(), face("jolie-2.jpg"), "--json"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(parse(r.out)["error"]["code"], "IO_ERROR");
  EXPECT_EQ(run(verify(face("jolie-1.jpg"), face("jolie-2.jpg"), "--fmr 2")).code, 2);
  fs::remove_all(dir);
}

TEST(Cli, VerifyNoFaceIsAFailWithReason) {
  const fs::path dir = fs::temp_directory_path() / "simkyc-cli-noface";
  fs::create_directories(dir);
  // A real photo file with the face painted over: decodes fine, holds no face.
  const cv::Mat grey(240, 320, CV_8UC3, cv::Scalar(128, 128, 128));
  ASSERT_TRUE(cv::imwrite((dir / "wall.png").string(), grey));
  const auto r = run(verify((dir / "wall.png").string(), face("jolie-2.jpg"), "--json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(parse(r.out)["decision"], "FAIL");
  EXPECT_EQ(parse(r.out)["reasons"][0]["code"], "NO_FACE");
  fs::remove_all(dir);
}

TEST(Cli, DetectQualityCompare) {
  auto r = run(bin() + " detect --json " + face("jolie-2.jpg"));
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(parse(r.out)["faces"].size(), 1u);
  r = run(bin() + " quality --json " + face("jolie-2.jpg"));
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(parse(r.out)["ok"].get<bool>());
  r = run(bin() + " compare --json --fmr 1e-2 " + face("jolie-1.jpg") + " " + face("jolie-2.jpg"));
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(parse(r.out)["match"].get<bool>());
  r = run(bin() + " compare --json " + face("jolie-1.jpg") + " " + face("other-13.jpg"));
  EXPECT_EQ(r.code, 1);
}

TEST(Cli, EvalPairListJsonPlotAndCalibrate) {
  const fs::path dir = fs::temp_directory_path() / "simkyc-cli-eval";
  fs::create_directories(dir);
  std::ofstream(dir / "pairs.txt") << face("jolie-1.jpg") << " " << face("jolie-2.jpg") << " 1\n"
                                   << face("arin-1.jpg") << " " << face("arin-2.jpg") << " 1\n"
                                   << face("jolie-1.jpg") << " " << face("other-13.jpg") << " 0\n"
                                   << face("jolie-2.jpg") << " " << face("other-8.jpg") << " 0\n"
                                   << face("arin-1.jpg") << " " << face("chorong-1.jpg") << " 0\n";
  const auto r = run(bin() + " eval --json --plot " + (dir / "roc.svg").string() + " " + (dir / "pairs.txt").string() +
                     " 2>/dev/null");
  EXPECT_EQ(r.code, 0) << r.out;
  const json j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["pairs"]["total"], 5);
  EXPECT_EQ(j["fte"]["count"], 0);
  for (const char* k : {"eer", "best_accuracy"}) EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"1e-2", "1e-3", "1e-4"}) EXPECT_TRUE(j["tar_at_far"].contains(k)) << k;
  EXPECT_GT(j["best_accuracy"].get<double>(), 0.79);
  std::ifstream svg(dir / "roc.svg");
  std::string head(5, '\0');
  svg.read(head.data(), 5);
  EXPECT_EQ(head, "<svg ");
  // PNG plots, and a calibration table that loads (the impostor count is too small for 1e-3).
  const auto c = run(bin() + " calibrate --out " + (dir / "t.json").string() + " --json " + (dir / "pairs.txt").string() +
                     " 2>/dev/null");
  EXPECT_EQ(c.code, 0);
  std::ifstream t(dir / "t.json");
  const json table = json::parse(t, nullptr, false);
  EXPECT_EQ(table["model"], simkyc::kDecisionEmbedder);   // eval/calibrate measure what decides by default
  EXPECT_TRUE(table["points"].empty());
  fs::remove_all(dir);
}

TEST(Cli, EvalFoldersFromDevelopmentData) {
  // A folder per person, as in ../shared/data/faces: build one from the test photos.
  const fs::path dir = fs::temp_directory_path() / "simkyc-cli-folders";
  fs::create_directories(dir / "jolie");
  fs::create_directories(dir / "arin");
  fs::copy_file(face("jolie-1.jpg"), dir / "jolie/1.jpg", fs::copy_options::overwrite_existing);
  fs::copy_file(face("jolie-2.jpg"), dir / "jolie/2.jpg", fs::copy_options::overwrite_existing);
  fs::copy_file(face("arin-1.jpg"), dir / "arin/1.jpg", fs::copy_options::overwrite_existing);
  const auto r = run(bin() + " eval --json --plot " + (dir / "roc.png").string() + " --folders " + dir.string() +
                     " 2>/dev/null");
  EXPECT_EQ(r.code, 0);
  const json j = parse(r.out);
  EXPECT_EQ(j["pairs"]["genuine"], 1);
  EXPECT_EQ(j["pairs"]["impostor"], 2);
  EXPECT_TRUE(fs::file_size(dir / "roc.png") > 1000);
  fs::remove_all(dir);
}

TEST(Cli, LoadtestRunsTheFullFlowOverHttp) {
  const auto r = run(bin() + " loadtest --seconds 2 --clients 1 --json 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const json j = parse(r.out);
  EXPECT_GT(j["http"]["verifications"].get<int>(), 0);
  EXPECT_EQ(j["http"]["errors"], 0);
  EXPECT_GT(j["in_process"]["verifications"].get<int>(), 0);
  EXPECT_GT(j["http_vs_in_process"].get<double>(), 0.0);
}
