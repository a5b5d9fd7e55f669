// Tests for src/document/id_number.h and regions.h.  Valid numbers below were computed with an
// independent implementation of ISO 7064 MOD 11-2; they are made up, not real people's numbers.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "document/id_number.h"
#include "document/regions.h"

using namespace simkyc;
using namespace simkyc::document;
using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

namespace {
Date D(int y, unsigned m, unsigned d) { return Date{year{y}, month{m}, day{d}}; }
const Date kAt = D(2024, 6, 1);

bool has(const DocumentCheck& c, Reason r) {
  return std::find(c.reasons.begin(), c.reasons.end(), r) != c.reasons.end();
}
}  // namespace

TEST(IdNumber, ValidNumberGivesAllFacts) {
  const auto r = check_id_number("11010519491231002X", kAt);
  EXPECT_TRUE(r.check.valid);
  EXPECT_TRUE(r.check.ok());
  EXPECT_FALSE(r.check.expired);
  EXPECT_TRUE(r.check.reasons.empty());
  EXPECT_EQ(r.check.kind, DocumentKind::kCnResidentId);
  EXPECT_EQ(r.number, "11010519491231002X");
  EXPECT_FALSE(r.converted_from_15);
  EXPECT_EQ(r.region_code, "11");
  EXPECT_EQ(r.region_name, "Beijing");
  ASSERT_TRUE(r.check.birth_date.has_value());
  EXPECT_EQ(*r.check.birth_date, D(1949, 12, 31));
  ASSERT_TRUE(r.check.age.has_value());
  EXPECT_EQ(*r.check.age, 74);
  EXPECT_FALSE(r.check.minor);
  EXPECT_EQ(r.check.sex, Sex::kFemale);  // 17th digit 2 is even
  EXPECT_FALSE(r.check.expiry_date.has_value());
}

TEST(IdNumber, LowercaseXIsAcceptedAndNormalised) {
  const auto r = check_id_number("11010519491231002x", kAt);
  EXPECT_TRUE(r.check.valid);
  EXPECT_EQ(r.number, "11010519491231002X");
}

TEST(IdNumber, SurroundingSpacesAreIgnored) {
  const auto r = check_id_number("  11010519491231002X ", kAt);
  EXPECT_TRUE(r.check.valid);
  EXPECT_EQ(r.number, "11010519491231002X");
}

TEST(IdNumber, SexDigitOddIsMaleEvenIsFemale) {
  EXPECT_EQ(check_id_number("440304200002290014", kAt).check.sex, Sex::kMale);     // 1
  EXPECT_EQ(check_id_number("320102200606020030", kAt).check.sex, Sex::kMale);     // 3
  EXPECT_EQ(check_id_number("320102200402290047", kAt).check.sex, Sex::kFemale);   // 4
  EXPECT_EQ(check_id_number("310115203001010028", D(2031, 1, 1)).check.sex, Sex::kFemale);
}

TEST(IdNumber, CheckCharacterCoversAllElevenValues) {
  // One 17-digit prefix for each possible check character, including X.
  const std::vector<std::string> numbers = {
      "110101199001000001", "11010119900100001X", "110101199001000028", "110101199001000036",
      "110101199001000044", "110101199001000052", "110101199001000060", "110101199001000079",
      "110101199001000087", "110101199001000095", "110101199001000183"};
  std::set<char> seen;
  for (const auto& n : numbers) {
    EXPECT_EQ(id_number_check_char(n.substr(0, 17)), n[17]) << n;
    seen.insert(n[17]);
  }
  EXPECT_EQ(seen.size(), 11u);
  EXPECT_EQ(id_number_check_char("1101011990010100"), '?');    // 16 characters
  EXPECT_EQ(id_number_check_char("1101011990010100A"), '?');   // not a digit
}

TEST(IdNumber, EveryWrongCheckCharacterIsChecksumError) {
  const std::string base = "11010519491231002";
  for (char c : std::string("0123456789X")) {
    if (c == 'X') continue;  // the right one
    const auto r = check_id_number(base + c, kAt);
    EXPECT_FALSE(r.check.valid) << c;
    EXPECT_EQ(r.check.reasons, std::vector<Reason>{Reason::kIdNumberChecksum}) << c;
    // Other facts are still reported.
    EXPECT_EQ(r.region_name, "Beijing");
    EXPECT_TRUE(r.check.birth_date.has_value());
  }
}

TEST(IdNumber, SingleDigitTyposAreCaught) {
  const std::string good = "11010519491231002X";
  for (std::size_t i = 0; i < 17; ++i) {
    std::string bad = good;
    bad[i] = bad[i] == '9' ? '0' : static_cast<char>(bad[i] + 1);
    EXPECT_TRUE(has(check_id_number(bad, kAt).check, Reason::kIdNumberChecksum)) << bad;
  }
  std::string swapped = good;  // adjacent transposition
  std::swap(swapped[3], swapped[4]);
  EXPECT_TRUE(has(check_id_number(swapped, kAt).check, Reason::kIdNumberChecksum));
}

TEST(IdNumber, RegionMustBeProvinceLevel) {
  for (const char* n : {"990105199001010014", "000105199001010015", "100105199001010019"}) {
    const auto r = check_id_number(n, kAt);
    EXPECT_EQ(r.check.reasons, std::vector<Reason>{Reason::kIdNumberRegion}) << n;
    EXPECT_EQ(r.region_name, "");
  }
  // Hong Kong, Macao and Taiwan residence permits use 81, 82, 83; GB/T 2260 lists 71.
  for (const char* n : {"810000198001010014", "820000198001010024", "830000198001010034",
                        "710000198001010045"})
    EXPECT_TRUE(check_id_number(n, kAt).check.valid) << n;
}

TEST(IdNumber, ProvinceTableIsSortedUniqueAndComplete) {
  const auto regions = province_regions();
  EXPECT_EQ(regions.size(), 35u);  // 31 mainland + 71 Taiwan + 81, 82, 83
  std::set<std::string_view> codes;
  for (std::size_t i = 0; i < regions.size(); ++i) {
    EXPECT_EQ(regions[i].code.size(), 2u);
    EXPECT_TRUE(codes.insert(regions[i].code).second);
    if (i > 0) {
      EXPECT_LT(regions[i - 1].code, regions[i].code);
    }
    EXPECT_FALSE(regions[i].name_en.empty());
    EXPECT_FALSE(regions[i].name_zh.empty());
  }
  ASSERT_NE(find_province("44"), nullptr);
  EXPECT_EQ(find_province("44")->name_en, "Guangdong");
  EXPECT_EQ(find_province("20"), nullptr);
  EXPECT_EQ(find_province(""), nullptr);
  EXPECT_EQ(find_province("110"), nullptr);
}

TEST(IdNumber, BirthDateMustBeACalendarDate) {
  // 30 February, month 13, day 00, day 32 — each with a correct check character.
  for (const char* n : {"110105199902300015", "510102199013010013", "510102199001000010",
                        "510102199001320014"}) {
    const auto r = check_id_number(n, kAt);
    EXPECT_EQ(r.check.reasons, std::vector<Reason>{Reason::kIdNumberBirthDate}) << n;
    EXPECT_FALSE(r.check.birth_date.has_value());
    EXPECT_FALSE(r.check.age.has_value());
    EXPECT_FALSE(r.check.minor);
  }
}

TEST(IdNumber, LeapDayBirthsFollowTheCalendar) {
  // 2000 is a leap year (divisible by 400); 1900 is not (divisible by 100).
  const auto leap = check_id_number("440304200002290014", kAt);
  EXPECT_TRUE(leap.check.valid);
  EXPECT_EQ(*leap.check.birth_date, D(2000, 2, 29));
  const auto not_leap = check_id_number("110105190002290017", kAt);
  EXPECT_EQ(not_leap.check.reasons, std::vector<Reason>{Reason::kIdNumberBirthDate});
}

TEST(IdNumber, LeapDayBirthdayIsReachedOnFirstMarchInCommonYears) {
  const std::string n = "320102200402290047";  // born 2004-02-29
  EXPECT_EQ(*check_id_number(n, D(2022, 2, 28)).check.age, 17);
  EXPECT_TRUE(check_id_number(n, D(2022, 2, 28)).check.minor);
  EXPECT_EQ(*check_id_number(n, D(2022, 3, 1)).check.age, 18);
  EXPECT_FALSE(check_id_number(n, D(2022, 3, 1)).check.minor);
  EXPECT_EQ(*check_id_number(n, D(2024, 2, 28)).check.age, 19);
  EXPECT_EQ(*check_id_number(n, D(2024, 2, 29)).check.age, 20);
}

TEST(IdNumber, BirthDateBefore1900IsRejected) {
  const auto r = check_id_number("110105189912310015", kAt);
  EXPECT_EQ(r.check.reasons, std::vector<Reason>{Reason::kIdNumberBirthDate});
}

TEST(IdNumber, BirthDateInTheFutureIsRejected) {
  const std::string n = "310115203001010028";  // born 2030-01-01
  const auto r = check_id_number(n, kAt);
  EXPECT_EQ(r.check.reasons, std::vector<Reason>{Reason::kIdNumberBirthDateFuture});
  EXPECT_FALSE(r.check.age.has_value());
  // The same number is fine once that day has come; age 0 on the day of birth.
  const auto born = check_id_number(n, D(2030, 1, 1));
  EXPECT_TRUE(born.check.valid);
  EXPECT_EQ(*born.check.age, 0);
  EXPECT_TRUE(born.check.minor);
  EXPECT_TRUE(has(check_id_number(n, D(2029, 12, 31)).check, Reason::kIdNumberBirthDateFuture));
}

TEST(IdNumber, MinorUntilTheEighteenthBirthday) {
  const std::string n = "320102200606020030";  // born 2006-06-02
  const auto before = check_id_number(n, D(2024, 6, 1));
  EXPECT_EQ(*before.check.age, 17);
  EXPECT_TRUE(before.check.minor);
  const auto on = check_id_number(n, D(2024, 6, 2));
  EXPECT_EQ(*on.check.age, 18);
  EXPECT_FALSE(on.check.minor);
  // Policy inputs such as "under 16" are plain comparisons on age.
  EXPECT_LT(*check_id_number(n, D(2022, 6, 1)).check.age, 16);
}

TEST(IdNumber, FormatErrors) {
  for (const char* n : {"", "1", "11010519491231002", "11010519491231002XX", "1101051949123100X2",
                        "110105194912310O2X", "11010519491231002Y", "110105 19491231002X",
                        "-11010519491231002", "11010549123100X", "1101054912310021",
                        "１１０１０５１９４９１２３１００２Ｘ", "110105\n19491231002X"}) {
    const auto r = check_id_number(n, kAt);
    EXPECT_EQ(r.check.reasons, std::vector<Reason>{Reason::kIdNumberFormat}) << n;
    EXPECT_FALSE(r.check.valid);
    EXPECT_TRUE(r.number.empty());
    EXPECT_EQ(r.check.sex, Sex::kUnspecified);
  }
  EXPECT_EQ(check_id_number(std::string(10000, '1'), kAt).check.reasons,
            std::vector<Reason>{Reason::kIdNumberFormat});
  EXPECT_EQ(check_id_number(std::string("11010519491231002\0", 18), kAt).check.reasons,
            std::vector<Reason>{Reason::kIdNumberFormat});
}

TEST(IdNumber, SeveralFailuresAreAllReported) {
  // Region 99, 30 February and a wrong check character.
  const auto r = check_id_number("990105199902300011", kAt);
  EXPECT_TRUE(has(r.check, Reason::kIdNumberChecksum));
  EXPECT_TRUE(has(r.check, Reason::kIdNumberRegion));
  EXPECT_TRUE(has(r.check, Reason::kIdNumberBirthDate));
  EXPECT_EQ(r.check.reasons.size(), 3u);
}

TEST(IdNumber, Legacy15DigitNumbersAreConvertedTo18) {
  ASSERT_TRUE(convert_15_to_18("110105491231002").has_value());
  EXPECT_EQ(*convert_15_to_18("110105491231002"), "11010519491231002X");
  EXPECT_FALSE(convert_15_to_18("11010549123100X").has_value());
  EXPECT_FALSE(convert_15_to_18("11010549123100").has_value());
  EXPECT_FALSE(convert_15_to_18("11010519491231002X").has_value());

  const auto r = check_id_number("110105491231002", kAt);
  EXPECT_TRUE(r.check.valid);
  EXPECT_TRUE(r.converted_from_15);
  EXPECT_EQ(r.number, "11010519491231002X");
  EXPECT_EQ(*r.check.birth_date, D(1949, 12, 31));
  EXPECT_EQ(r.check.sex, Sex::kFemale);
  // The converted number is itself a valid 18-character number.
  EXPECT_TRUE(check_id_number(r.number, kAt).check.valid);
}

TEST(IdNumber, Legacy15DigitNumbersAreStillChecked) {
  // 15-digit numbers carry no check character; region and date are checked after conversion.
  EXPECT_EQ(check_id_number("990105491231002", kAt).check.reasons,
            std::vector<Reason>{Reason::kIdNumberRegion});
  EXPECT_EQ(check_id_number("110105990230001", kAt).check.reasons,   // 1999-02-30
            std::vector<Reason>{Reason::kIdNumberBirthDate});
  EXPECT_EQ(check_id_number("110105000229001", kAt).check.reasons,   // 1900-02-29
            std::vector<Reason>{Reason::kIdNumberBirthDate});
  EXPECT_TRUE(check_id_number("110105960229001", kAt).check.valid);  // 1996-02-29
}

TEST(IdNumber, JsonCarriesPolicyInputs) {
  const auto j = to_json(check_id_number("320102200606020030", kAt));
  EXPECT_EQ(j.at("kind"), "CN_RESIDENT_ID");
  EXPECT_EQ(j.at("valid"), true);
  EXPECT_EQ(j.at("ok"), true);
  EXPECT_EQ(j.at("expired"), false);
  EXPECT_EQ(j.at("birth_date"), "2006-06-02");
  EXPECT_EQ(j.at("age"), 17);
  EXPECT_EQ(j.at("minor"), true);
  EXPECT_EQ(j.at("sex"), "male");
  EXPECT_TRUE(j.at("expiry_date").is_null());
  EXPECT_TRUE(j.at("reasons").empty());
  EXPECT_EQ(j.at("id_number").at("region"), "Jiangsu");
  EXPECT_EQ(j.at("id_number").at("converted_from_15"), false);

  const auto bad = to_json(check_id_number("11010519491231002", kAt));
  EXPECT_EQ(bad.at("valid"), false);
  EXPECT_TRUE(bad.at("age").is_null());
  ASSERT_EQ(bad.at("reasons").size(), 1u);
  EXPECT_EQ(bad.at("reasons")[0].at("code"), "ID_NUMBER_FORMAT");
  EXPECT_FALSE(bad.at("reasons")[0].at("hint").get<std::string>().empty());
}

TEST(IdNumber, ReasonCodesAreStable) {
  EXPECT_EQ(code(Reason::kIdNumberFormat), "ID_NUMBER_FORMAT");
  EXPECT_EQ(code(Reason::kIdNumberChecksum), "ID_NUMBER_CHECKSUM");
  EXPECT_EQ(code(Reason::kIdNumberRegion), "ID_NUMBER_REGION");
  EXPECT_EQ(code(Reason::kIdNumberBirthDate), "ID_NUMBER_BIRTH_DATE");
  EXPECT_EQ(code(Reason::kIdNumberBirthDateFuture), "ID_NUMBER_BIRTH_DATE_FUTURE");
}

TEST(IdNumberDates, ParseAndFormatIsoDates) {
  EXPECT_EQ(parse_iso_date("2024-02-29"), D(2024, 2, 29));
  EXPECT_EQ(parse_iso_date("0001-01-01"), D(1, 1, 1));
  for (const char* bad : {"2023-02-29", "2024-13-01", "2024-00-10", "2024-01-32", "2024-1-01",
                          "24-01-01", "2024/01/01", " 2024-01-01", "2024-01-01 ", "0000-01-01",
                          "", "2024-01-01T00:00", "２０２４-01-01"})
    EXPECT_FALSE(parse_iso_date(bad).has_value()) << bad;
  EXPECT_EQ(format_iso_date(D(2024, 2, 9)), "2024-02-09");
  EXPECT_EQ(format_iso_date(D(987, 12, 31)), "0987-12-31");
}

TEST(IdNumberDates, AgeAt) {
  EXPECT_EQ(age_at(D(2000, 1, 1), D(2000, 1, 1)), 0);
  EXPECT_EQ(age_at(D(2000, 1, 1), D(2017, 12, 31)), 17);
  EXPECT_EQ(age_at(D(2000, 1, 1), D(2018, 1, 1)), 18);
  EXPECT_EQ(age_at(D(2000, 12, 31), D(2001, 12, 30)), 0);
  EXPECT_EQ(age_at(D(2000, 12, 31), D(2001, 12, 31)), 1);
}
