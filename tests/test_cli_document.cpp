// Runs the built `simkyc document check` (SIMKYC_BINARY) and checks exit codes and JSON output.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_helpers.h"

namespace {

using simkyc::test::Run;

// Runs `simkyc ARGS REDIRECT` through the shell (ARGS must be shell-quoted by the caller).
// stdout only; stderr goes to /dev/null unless asked for.
Run cli(const std::string& args, const std::string& redirect = "2>/dev/null") {
  return simkyc::test::run(std::string("'") + SIMKYC_BINARY + "' " + args + " " + redirect);
}

nlohmann::json json_of(const Run& r) {
  return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

const char* kTd3 =
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\\n"
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

std::filesystem::path temp_file(const std::string& name, const std::string& content) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("simkyc_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

}  // namespace

TEST(CliDocument, ValidIdNumberExitsZero) {
  const auto r = cli("document check --id-number 11010519491231002X --at 2024-05-01");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("VALID"), std::string::npos);
  EXPECT_NE(r.out.find("Beijing"), std::string::npos);
}

TEST(CliDocument, IdNumberJson) {
  const auto r = cli("document check --id-number 320102200606020030 --at 2024-06-01 --json");
  EXPECT_EQ(r.code, 0);
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  for (const char* key : {"kind", "valid", "expired", "ok", "birth_date", "expiry_date", "age",
                          "minor", "sex", "reasons", "id_number", "at"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["age"], 17);
  EXPECT_EQ(j["minor"], true);
  EXPECT_EQ(j["at"], "2024-06-01");
  EXPECT_EQ(j["id_number"]["number"], "320102200606020030");
}

TEST(CliDocument, InvalidIdNumberExitsOneWithCode) {
  const auto r = cli("document check --id-number 110105194912310021 --at 2024-05-01 --json");
  EXPECT_EQ(r.code, 1);
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["valid"], false);
  ASSERT_EQ(j["reasons"].size(), 1u);
  EXPECT_EQ(j["reasons"][0]["code"], "ID_NUMBER_CHECKSUM");
  // Human output names the code too.
  const auto human = cli("document check --id-number 110105194912310021 --at 2024-05-01");
  EXPECT_EQ(human.code, 1);
  EXPECT_NE(human.out.find("ID_NUMBER_CHECKSUM"), std::string::npos);
}

TEST(CliDocument, Legacy15DigitNumberIsConverted) {
  const auto r = cli("document check --id-number 110105491231002 --at 2024-05-01 --json");
  EXPECT_EQ(r.code, 0);
  const auto j = json_of(r);
  EXPECT_EQ(j["id_number"]["number"], "11010519491231002X");
  EXPECT_EQ(j["id_number"]["converted_from_15"], true);
}

TEST(CliDocument, MrzWithEscapedNewlines) {
  const auto r = cli(std::string("document check --mrz '") + kTd3 + "' --at 2010-01-01 --json");
  EXPECT_EQ(r.code, 0);
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["kind"], "PASSPORT");
  EXPECT_EQ(j["mrz"]["format"], "TD3");
  EXPECT_EQ(j["mrz"]["document_number"], "L898902C3");
  EXPECT_TRUE(j["corrections"].is_array());
}

TEST(CliDocument, ExpiredMrzExitsOne) {
  const auto r = cli(std::string("document check --mrz '") + kTd3 + "' --at 2024-06-01 --json");
  EXPECT_EQ(r.code, 1);
  const auto j = json_of(r);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["expired"], true);
  EXPECT_EQ(j["reasons"][0]["code"], "DOCUMENT_EXPIRED");
}

TEST(CliDocument, MrzFileWithCrlfAndOcrFix) {
  const auto path = temp_file("td1.txt",
                              "I<UTOD231458907<<<<<<<<<<<<<<<\r\n"
                              "74O8122F1204159UTO<<<<<<<<<<<6  \r\n"
                              "ERIKSSON<<ANNA<MARIA<<<<<<<<<<\r\n");
  const auto r = cli("document check --mrz-file '" + path.string() + "' --at 2010-01-01 --json");
  EXPECT_EQ(r.code, 0);
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["mrz"]["format"], "TD1");
  ASSERT_EQ(j["corrections"].size(), 1u);
  EXPECT_EQ(j["corrections"][0]["field"], "birth_date");
  const auto human = cli("document check --mrz-file '" + path.string() + "' --at 2010-01-01");
  EXPECT_EQ(human.code, 0);
  EXPECT_NE(human.out.find("OCR corrections"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(CliDocument, BadMrzExitsOne) {
  const auto r = cli("document check --mrz 'P<UTO' --json");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(json_of(r)["reasons"][0]["code"], "MRZ_FORMAT");
}

TEST(CliDocument, UsageAndInputErrorsExitTwo) {
  EXPECT_EQ(cli("document check").code, 2);
  EXPECT_EQ(cli("document").code, 2);
  EXPECT_EQ(cli("document check --id-number 11010519491231002X --mrz X").code, 2);
  EXPECT_EQ(cli("document check --id-number 11010519491231002X --at 2024-02-30").code, 2);
  EXPECT_EQ(cli("document check --id-number 11010519491231002X --at yesterday").code, 2);
  EXPECT_EQ(cli("document check --mrz-file /nonexistent/simkyc/mrz.txt").code, 2);
  EXPECT_EQ(cli("document check --no-such-option").code, 2);
  const auto dir = std::filesystem::temp_directory_path();
  EXPECT_EQ(cli("document check --mrz-file '" + dir.string() + "'").code, 2);
  const auto big = temp_file("big.txt", std::string(100 * 1024, 'A'));
  EXPECT_EQ(cli("document check --mrz-file '" + big.string() + "'").code, 2);
  std::filesystem::remove(big);
}

TEST(CliDocument, HelpDescribesOptionsAndExitCodes) {
  const auto r = cli("document check --help", "2>&1");
  EXPECT_EQ(r.code, 0);
  for (const char* s : {"--id-number", "--mrz", "--mrz-file", "--at", "--json", "Exit codes"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

TEST(CliDocument, LogsCarryNoIdNumber) {
  // Even at the most verbose level, stderr (the log) never holds the number.
  const auto r = cli("--log-level trace document check --id-number 11010519491231002X "
                        "--at 2024-05-01 --json",
                        "2>&1 >/dev/null");
  EXPECT_EQ(r.out.find("11010519491231002X"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("document check"), std::string::npos) << r.out;
}
