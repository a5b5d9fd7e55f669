// Tests for src/document/mrz.h.  The ERIKSSON ANNA MARIA zones are the specimens of ICAO Doc 9303
// (part 4: TD3, part 5: TD1, part 6: TD2, part 7: MRV-A/MRV-B); the other zones are made up, with
// check digits computed by an independent implementation.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "document/mrz.h"

using namespace simkyc;
using namespace simkyc::document;
using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

namespace {
Date D(int y, unsigned m, unsigned d) { return Date{year{y}, month{m}, day{d}}; }
const Date kAt = D(2010, 1, 1);  // the specimens expire 2012-04-15

const std::string kTd3L1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
const std::string kTd3L2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";
const std::string kTd3 = kTd3L1 + "\n" + kTd3L2;
const std::string kTd2 =
    "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6";
const std::string kTd1L1 = "I<UTOD231458907<<<<<<<<<<<<<<<";
const std::string kTd1L2 = "7408122F1204159UTO<<<<<<<<<<<6";
const std::string kTd1L3 = "ERIKSSON<<ANNA<MARIA<<<<<<<<<<";
const std::string kTd1 = kTd1L1 + "\n" + kTd1L2 + "\n" + kTd1L3;
const std::string kMrvA =
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL8988901C4XXX4009078F96121096ZE184226B<<<<<<";
const std::string kMrvB =
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nL8988901C4XXX4009078F9612109<<<<<<<<";

bool has(const MrzResult& r, Reason reason) {
  return std::find(r.check.reasons.begin(), r.check.reasons.end(), reason) !=
         r.check.reasons.end();
}
std::vector<Reason> reasons(const MrzResult& r) { return r.check.reasons; }

// Replaces the character at 1-based (line, column) of a multi-line MRZ.
std::string with(std::string mrz, int line, int column, char c) {
  std::size_t pos = 0;
  for (int l = 1; l < line; ++l) pos = mrz.find('\n', pos) + 1;
  mrz[pos + static_cast<std::size_t>(column - 1)] = c;
  return mrz;
}
}  // namespace

// ---- ICAO specimens -------------------------------------------------------------------------

TEST(Mrz, Td3SpecimenPassport) {
  const auto r = check_mrz(kTd3, kAt);
  EXPECT_TRUE(r.check.ok()) << testing::PrintToString(r.check.reasons.size());
  ASSERT_TRUE(r.format.has_value());
  EXPECT_EQ(*r.format, MrzFormat::kTd3);
  EXPECT_EQ(r.check.kind, DocumentKind::kPassport);
  const auto& f = r.fields;
  EXPECT_EQ(f.document_code, "P");
  EXPECT_EQ(f.issuing_state, "UTO");
  EXPECT_EQ(f.primary_identifier, "ERIKSSON");
  EXPECT_EQ(f.secondary_identifier, "ANNA MARIA");
  EXPECT_EQ(f.document_number, "L898902C3");
  EXPECT_EQ(f.nationality, "UTO");
  EXPECT_EQ(f.birth_date, "740812");
  EXPECT_EQ(f.sex, 'F');
  EXPECT_EQ(f.expiry_date, "120415");
  EXPECT_EQ(f.personal_number, "ZE184226B");
  EXPECT_EQ(*r.check.birth_date, D(1974, 8, 12));
  EXPECT_EQ(*r.check.expiry_date, D(2012, 4, 15));
  EXPECT_EQ(*r.check.age, 35);
  EXPECT_FALSE(r.check.minor);
  EXPECT_EQ(r.check.sex, Sex::kFemale);
  EXPECT_TRUE(r.corrections.empty());
  EXPECT_EQ(r.lines, (std::vector<std::string>{kTd3L1, kTd3L2}));
}

TEST(Mrz, Td2Specimen) {
  const auto r = check_mrz(kTd2, kAt);
  EXPECT_TRUE(r.check.ok());
  EXPECT_EQ(*r.format, MrzFormat::kTd2);
  EXPECT_EQ(r.check.kind, DocumentKind::kIdCard);
  EXPECT_EQ(r.fields.document_code, "I");
  EXPECT_EQ(r.fields.document_number, "D23145890");
  EXPECT_EQ(r.fields.primary_identifier, "ERIKSSON");
  EXPECT_EQ(r.fields.secondary_identifier, "ANNA MARIA");
  EXPECT_EQ(r.fields.optional_data, "");
  EXPECT_EQ(*r.check.birth_date, D(1974, 8, 12));
  EXPECT_EQ(*r.check.expiry_date, D(2012, 4, 15));
}

TEST(Mrz, Td1Specimen) {
  const auto r = check_mrz(kTd1, kAt);
  EXPECT_TRUE(r.check.ok());
  EXPECT_EQ(*r.format, MrzFormat::kTd1);
  EXPECT_EQ(r.check.kind, DocumentKind::kIdCard);
  EXPECT_EQ(r.fields.document_number, "D23145890");
  EXPECT_EQ(r.fields.issuing_state, "UTO");
  EXPECT_EQ(r.fields.nationality, "UTO");
  EXPECT_EQ(r.fields.primary_identifier, "ERIKSSON");
  EXPECT_EQ(r.fields.secondary_identifier, "ANNA MARIA");
  EXPECT_EQ(r.fields.optional_data, "");
  EXPECT_EQ(r.fields.optional_data_2, "");
  EXPECT_EQ(r.check.sex, Sex::kFemale);
  EXPECT_EQ(*r.check.expiry_date, D(2012, 4, 15));
}

TEST(Mrz, VisaSpecimens) {
  const auto a = check_mrz(kMrvA, D(1995, 1, 1));
  EXPECT_TRUE(a.check.ok());
  EXPECT_EQ(*a.format, MrzFormat::kMrvA);
  EXPECT_EQ(a.check.kind, DocumentKind::kVisa);
  EXPECT_EQ(a.fields.document_number, "L8988901C");
  EXPECT_EQ(a.fields.nationality, "XXX");
  EXPECT_EQ(a.fields.optional_data, "6ZE184226B");
  EXPECT_EQ(*a.check.birth_date, D(1940, 9, 7));
  EXPECT_EQ(*a.check.expiry_date, D(1996, 12, 10));
  const auto b = check_mrz(kMrvB, D(1995, 1, 1));
  EXPECT_TRUE(b.check.ok());
  EXPECT_EQ(*b.format, MrzFormat::kMrvB);
  EXPECT_EQ(b.check.kind, DocumentKind::kVisa);
}

TEST(Mrz, SpecimensAreExpiredToday) {
  for (const auto& mrz : {kTd1, kTd2, kTd3}) {
    const auto r = check_mrz(mrz, D(2024, 6, 1));
    EXPECT_TRUE(r.check.valid);
    EXPECT_TRUE(r.check.expired);
    EXPECT_FALSE(r.check.ok());
    EXPECT_EQ(reasons(r), std::vector<Reason>{Reason::kDocumentExpired});
  }
}

TEST(Mrz, CheckDigitAlgorithm) {
  EXPECT_EQ(mrz_check_digit("L898902C3"), 6);
  EXPECT_EQ(mrz_check_digit("740812"), 2);
  EXPECT_EQ(mrz_check_digit("120415"), 9);
  EXPECT_EQ(mrz_check_digit("ZE184226B<<<<<"), 1);
  EXPECT_EQ(mrz_check_digit("L898902C3674081221204159ZE184226B<<<<<1"), 0);
  EXPECT_EQ(mrz_check_digit(""), 0);
  EXPECT_EQ(mrz_check_digit("<<<<<<"), 0);
  EXPECT_EQ(mrz_check_digit("ab"), -1);
  EXPECT_EQ(mrz_check_digit("A B"), -1);
}

// ---- every check digit broken ---------------------------------------------------------------

TEST(Mrz, Td3EachCheckDigitBroken) {
  struct Case {
    int column;
    Reason reason;
  };
  for (const Case c : {Case{10, Reason::kMrzCheckDigitDocumentNumber},
                       Case{20, Reason::kMrzCheckDigitBirthDate},
                       Case{28, Reason::kMrzCheckDigitExpiryDate},
                       Case{43, Reason::kMrzCheckDigitOptionalData},
                       Case{44, Reason::kMrzCheckDigitComposite}}) {
    const auto r = check_mrz(with(kTd3, 2, c.column, '7'), kAt);
    EXPECT_FALSE(r.check.valid) << c.column;
    EXPECT_TRUE(has(r, c.reason)) << c.column;
    // A field's check digit is inside the composite, so the composite fails with it.
    EXPECT_TRUE(has(r, Reason::kMrzCheckDigitComposite)) << c.column;
    EXPECT_EQ(r.check.reasons.size(), c.column == 44 ? 1u : 2u) << c.column;
  }
}

TEST(Mrz, Td2EachCheckDigitBroken) {
  for (const auto& [column, reason] :
       std::vector<std::pair<int, Reason>>{{10, Reason::kMrzCheckDigitDocumentNumber},
                                           {20, Reason::kMrzCheckDigitBirthDate},
                                           {28, Reason::kMrzCheckDigitExpiryDate},
                                           {36, Reason::kMrzCheckDigitComposite}}) {
    const auto r = check_mrz(with(kTd2, 2, column, '1'), kAt);
    EXPECT_TRUE(has(r, reason)) << column;
    EXPECT_FALSE(r.check.valid);
  }
}

TEST(Mrz, Td1EachCheckDigitBroken) {
  for (const auto& [line, column, reason] : std::vector<std::tuple<int, int, Reason>>{
           {1, 15, Reason::kMrzCheckDigitDocumentNumber},
           {2, 7, Reason::kMrzCheckDigitBirthDate},
           {2, 15, Reason::kMrzCheckDigitExpiryDate},
           {2, 30, Reason::kMrzCheckDigitComposite}}) {
    const auto r = check_mrz(with(kTd1, line, column, '1'), kAt);
    EXPECT_TRUE(has(r, reason)) << line << ":" << column;
    EXPECT_TRUE(has(r, Reason::kMrzCheckDigitComposite)) << line << ":" << column;
    EXPECT_FALSE(r.check.valid);
  }
}

TEST(Mrz, ChangedDataIsCaughtByItsCheckDigit) {
  // Document number L898902C3 -> L898902C4, birth 740812 -> 740813, expiry 120415 -> 130415.
  EXPECT_TRUE(has(check_mrz(with(kTd3, 2, 9, '4'), kAt), Reason::kMrzCheckDigitDocumentNumber));
  EXPECT_TRUE(has(check_mrz(with(kTd3, 2, 19, '3'), kAt), Reason::kMrzCheckDigitBirthDate));
  EXPECT_TRUE(has(check_mrz(with(kTd3, 2, 23, '3'), kAt), Reason::kMrzCheckDigitExpiryDate));
  // Personal number ZE184226B -> ZE184276B.
  EXPECT_TRUE(has(check_mrz(with(kTd3, 2, 35, '7'), kAt), Reason::kMrzCheckDigitOptionalData));
  // The nationality has no check digit of its own and is outside the composite: only the
  // layout rules apply to it.
  EXPECT_TRUE(check_mrz(with(kTd3, 2, 11, 'X'), kAt).check.valid);
  // TD1 optional data is covered by the composite.
  EXPECT_EQ(reasons(check_mrz(with(kTd1, 1, 20, 'B'), kAt)),
            std::vector<Reason>{Reason::kMrzCheckDigitComposite});
  EXPECT_EQ(reasons(check_mrz(with(kTd1, 2, 25, 'B'), kAt)),
            std::vector<Reason>{Reason::kMrzCheckDigitComposite});
}

// ---- long document numbers (TD1 and TD2) ----------------------------------------------------

TEST(Mrz, Td1LongDocumentNumber) {
  const std::string mrz = "I<UTOD23145890<7349<<<<<<<<<<<\n" + kTd1L2 + "\n" + kTd1L3;
  const auto r = check_mrz(mrz, kAt);
  EXPECT_TRUE(r.check.ok());
  EXPECT_EQ(r.fields.document_number, "D23145890734");
  EXPECT_EQ(r.fields.optional_data, "");
  // Its check digit (the 9 after 734) broken.
  const auto bad = check_mrz(with(mrz, 1, 19, '8'), kAt);
  EXPECT_TRUE(has(bad, Reason::kMrzCheckDigitDocumentNumber));
  // A filler where the check digit belongs, with nothing in the optional data.
  const auto none = check_mrz(
      "I<UTOD23145890<<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<2\n" + kTd1L3, kAt);
  EXPECT_TRUE(has(none, Reason::kMrzCheckDigitDocumentNumber));
}

TEST(Mrz, Td2LongDocumentNumber) {
  const auto r = check_mrz(
      "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD23145890<UTO7408122F120415976<<<<<4", kAt);
  EXPECT_TRUE(r.check.ok());
  EXPECT_EQ(r.fields.document_number, "D231458907");
  EXPECT_EQ(r.fields.optional_data, "");
}

// ---- OCR confusions -------------------------------------------------------------------------

TEST(Mrz, OcrFixInBirthDateIsKeptWhenCheckDigitConfirms) {
  // 740812 read as 74O8I2: the check digit 2 confirms 740812.
  const auto r = check_mrz(with(with(kTd3, 2, 16, 'O'), 2, 18, 'I'), kAt);
  EXPECT_TRUE(r.check.ok());
  EXPECT_EQ(r.fields.birth_date, "740812");
  EXPECT_EQ(*r.check.birth_date, D(1974, 8, 12));
  ASSERT_EQ(r.corrections.size(), 2u);
  EXPECT_EQ(r.corrections[0].line, 2);
  EXPECT_EQ(r.corrections[0].column, 16);
  EXPECT_EQ(r.corrections[0].from, 'O');
  EXPECT_EQ(r.corrections[0].to, '0');
  EXPECT_EQ(r.corrections[0].field, "birth_date");
  EXPECT_EQ(r.corrections[1].column, 18);
  EXPECT_EQ(r.corrections[1].from, 'I');
  EXPECT_EQ(r.corrections[1].to, '1');
  EXPECT_EQ(r.lines[1], kTd3L2);
}

TEST(Mrz, OcrFixIsRefusedWhenCheckDigitDoesNotConfirm) {
  // 74O8I2 with a check digit of 3: 740812 would need 2, so nothing is changed.
  const auto r = check_mrz(with(with(with(kTd3, 2, 16, 'O'), 2, 18, 'I'), 2, 20, '3'), kAt);
  EXPECT_TRUE(r.corrections.empty());
  EXPECT_TRUE(has(r, Reason::kMrzCheckDigitBirthDate));
  EXPECT_TRUE(has(r, Reason::kMrzBirthDate));  // as given, 74O8I2 is no date
  EXPECT_FALSE(r.check.birth_date.has_value());
  EXPECT_EQ(r.fields.birth_date, "74O8I2");
  EXPECT_FALSE(r.check.valid);
}

TEST(Mrz, OcrFixEachConfusableLetter) {
  // Each of O I B S Z G in a date or check digit, where the check digit confirms the digit.
  struct Case {
    int column;
    char letter;
    char digit;
  };
  // TD3 line 2: birth 740812 check 2 (cols 14-20), expiry 120415 check 9 (cols 22-28).
  for (const Case c : {Case{16, 'O', '0'}, Case{18, 'I', '1'}, Case{17, 'B', '8'},
                       Case{27, 'S', '5'}, Case{20, 'Z', '2'}, Case{23, 'Z', '2'}}) {
    const auto r = check_mrz(with(kTd3, 2, c.column, c.letter), kAt);
    EXPECT_TRUE(r.check.ok()) << c.column;
    ASSERT_EQ(r.corrections.size(), 1u) << c.column;
    EXPECT_EQ(r.corrections[0].from, c.letter);
    EXPECT_EQ(r.corrections[0].to, c.digit);
  }
  // G for 6: the document number check digit is 6.
  const auto g = check_mrz(with(kTd3, 2, 10, 'G'), kAt);
  EXPECT_TRUE(g.check.ok());
  ASSERT_EQ(g.corrections.size(), 1u);
  EXPECT_EQ(g.corrections[0].field, "document_number_check_digit");
  // O for the composite check digit 0.
  const auto o = check_mrz(with(kTd3, 2, 44, 'O'), kAt);
  EXPECT_TRUE(o.check.ok());
  ASSERT_EQ(o.corrections.size(), 1u);
  EXPECT_EQ(o.corrections[0].field, "composite_check_digit");
  // TD1: expiry check digit 9 is not a confusable; birth check digit 2 read as Z.
  const auto td1 = check_mrz(with(kTd1, 2, 7, 'Z'), kAt);
  EXPECT_TRUE(td1.check.ok());
  EXPECT_EQ(td1.corrections.size(), 1u);
}

TEST(Mrz, AlphanumericFieldsAreNeverCorrected) {
  // Document number L898902C3 read as L8989O2C3: a letter is legal there, so no fix.
  const auto r = check_mrz(with(kTd3, 2, 6, 'O'), kAt);
  EXPECT_TRUE(r.corrections.empty());
  EXPECT_TRUE(has(r, Reason::kMrzCheckDigitDocumentNumber));
  EXPECT_EQ(r.fields.document_number, "L8989O2C3");
}

TEST(Mrz, NonConfusableLetterInDateIsNotFixed) {
  const auto r = check_mrz(with(kTd3, 2, 16, 'Q'), kAt);
  EXPECT_TRUE(r.corrections.empty());
  EXPECT_TRUE(has(r, Reason::kMrzBirthDate));
  EXPECT_TRUE(has(r, Reason::kMrzCheckDigitBirthDate));
}

// ---- dates ----------------------------------------------------------------------------------

TEST(MrzDates, BirthDatesResolveToThePast) {
  const Date at = D(2024, 6, 1);
  EXPECT_EQ(mrz_birth_date("740812", at), D(1974, 8, 12));
  EXPECT_EQ(mrz_birth_date("240531", at), D(2024, 5, 31));
  EXPECT_EQ(mrz_birth_date("240601", at), D(2024, 6, 1));
  EXPECT_EQ(mrz_birth_date("240602", at), D(1924, 6, 2));
  EXPECT_EQ(mrz_birth_date("991231", at), D(1999, 12, 31));
  EXPECT_EQ(mrz_birth_date("000229", at), D(2000, 2, 29));  // leap year
  EXPECT_FALSE(mrz_birth_date("000229", D(1999, 6, 1)).has_value());  // 1900-02-29
  EXPECT_FALSE(mrz_birth_date("010229", at).has_value());
  EXPECT_FALSE(mrz_birth_date("741301", at).has_value());
  EXPECT_FALSE(mrz_birth_date("740800", at).has_value());
  EXPECT_FALSE(mrz_birth_date("74081", at).has_value());
  EXPECT_FALSE(mrz_birth_date("74O812", at).has_value());
  EXPECT_FALSE(mrz_birth_date("<<<<<<", at).has_value());
}

TEST(MrzDates, ExpiryDatesUseAWindowAroundTheCheckDate) {
  const Date at = D(2024, 6, 1);  // window 1974..2073
  EXPECT_EQ(mrz_expiry_date("120415", at), D(2012, 4, 15));
  EXPECT_EQ(mrz_expiry_date("340101", at), D(2034, 1, 1));
  EXPECT_EQ(mrz_expiry_date("731231", at), D(2073, 12, 31));
  EXPECT_EQ(mrz_expiry_date("740101", at), D(1974, 1, 1));
  EXPECT_EQ(mrz_expiry_date("991231", at), D(1999, 12, 31));
  EXPECT_EQ(mrz_expiry_date("000101", D(1995, 1, 1)), D(2000, 1, 1));  // window 1945..2044
  EXPECT_EQ(mrz_expiry_date("280229", at), D(2028, 2, 29));
  EXPECT_FALSE(mrz_expiry_date("270229", at).has_value());
}

TEST(MrzDates, ExpiredIsStrictlyBeforeTheCheckDate) {
  EXPECT_FALSE(check_mrz(kTd3, D(2012, 4, 15)).check.expired);  // valid through expiry day
  const auto r = check_mrz(kTd3, D(2012, 4, 16));
  EXPECT_TRUE(r.check.expired);
  EXPECT_TRUE(r.check.valid);
  EXPECT_EQ(reasons(r), std::vector<Reason>{Reason::kDocumentExpired});
}

TEST(MrzDates, MinorFromMrzBirthDate) {
  const std::string mrz =
      "P<UTODOE<<JANE<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nX1234567<7UTO0606022F3001019<<<<<<<<<<<<<<06";
  const auto before = check_mrz(mrz, D(2024, 6, 1));
  EXPECT_TRUE(before.check.ok());
  EXPECT_EQ(*before.check.birth_date, D(2006, 6, 2));
  EXPECT_EQ(*before.check.age, 17);
  EXPECT_TRUE(before.check.minor);
  EXPECT_EQ(before.fields.document_number, "X1234567");
  const auto on = check_mrz(mrz, D(2024, 6, 2));
  EXPECT_EQ(*on.check.age, 18);
  EXPECT_FALSE(on.check.minor);
}

TEST(MrzDates, InvalidDatesWithMatchingCheckDigits) {
  // Birth 741332 (month 13) with its right check digit 4.
  const auto r = check_mrz(
      "P<UTODOE<<JANE<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nX1234567<7UTO7413324F3001019<<<<<<<<<<<<<<02",
      D(2024, 6, 1));
  EXPECT_EQ(reasons(r), std::vector<Reason>{Reason::kMrzBirthDate});
  EXPECT_FALSE(r.check.birth_date.has_value());
  EXPECT_FALSE(r.check.age.has_value());
}

TEST(MrzDates, UnknownBirthDateIsNotAFailure) {
  // ICAO: an unknown birth date is written as fillers (check digit 0); sex unspecified.
  const auto r = check_mrz(
      "P<UTODOE<<JANE<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nX1234567<7UTO<<<<<<0<3001019<<<<<<<<<<<<<<02",
      D(2024, 6, 1));
  EXPECT_TRUE(r.check.ok());
  EXPECT_FALSE(r.check.birth_date.has_value());
  EXPECT_FALSE(r.check.age.has_value());
  EXPECT_FALSE(r.check.minor);
  EXPECT_EQ(r.check.sex, Sex::kUnspecified);
}

// ---- other fields ---------------------------------------------------------------------------

TEST(Mrz, NamesAndSex) {
  const auto r = check_mrz(
      "P<UTOVAN<DER<BERG<<JAN<PIETER<<<<<<<<<<<<<<<\nX1234567<7UTO8001014M3001019<<<<<<<<<<<<<<08",
      D(2024, 6, 1));
  EXPECT_TRUE(r.check.ok());
  EXPECT_EQ(r.fields.primary_identifier, "VAN DER BERG");
  EXPECT_EQ(r.fields.secondary_identifier, "JAN PIETER");
  EXPECT_EQ(r.check.sex, Sex::kMale);
  const auto mono = check_mrz(
      "P<UTOMADONNA<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nX1234567<7UTO8001014F3001019<<<<<<<<<<<<<<08",
      D(2024, 6, 1));
  EXPECT_TRUE(mono.check.ok());
  EXPECT_EQ(mono.fields.primary_identifier, "MADONNA");
  EXPECT_EQ(mono.fields.secondary_identifier, "");
  const auto x = check_mrz(
      "P<UTODOE<<ALEX<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nX1234567<7UTO8001014X3001019<<<<<<<<<<<<<<08",
      D(2024, 6, 1));
  EXPECT_TRUE(x.check.ok());
  EXPECT_EQ(x.check.sex, Sex::kUnspecified);
  EXPECT_EQ(x.fields.sex, 'X');
  // Sex outside F, M, X, < (outside the composite, so only MRZ_SEX).
  EXPECT_EQ(reasons(check_mrz(with(kTd3, 2, 21, 'Q'), kAt)), std::vector<Reason>{Reason::kMrzSex});
}

TEST(Mrz, PersonalNumberCheckDigitMayBeFillerOrZeroWhenEmpty) {
  const std::string l1 = "P<UTODOE<<JANE<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<";
  const std::string l2 = "X1234567<7UTO8001014F3001019<<<<<<<<<<<<<<";
  // Composite over the same data with '<' or '0' is the same (both count 0).
  EXPECT_TRUE(check_mrz(l1 + "\n" + l2 + "<8", D(2024, 6, 1)).check.ok());
  EXPECT_TRUE(check_mrz(l1 + "\n" + l2 + "08", D(2024, 6, 1)).check.ok());
  // A filler check digit over a non-empty personal number is wrong.
  const std::string spec = with(kTd3, 2, 43, '<');
  EXPECT_TRUE(has(check_mrz(spec, kAt), Reason::kMrzCheckDigitOptionalData));
}

TEST(Mrz, ChineseTravelPermitTd1) {
  // A card permit in TD1 layout (document code CR), born on a leap day, no OCR noise.
  const auto r = check_mrz(
      "CRCHNH123456783<<<<<<<<<<<<<<<\n0002299M3002289CHN<<<<<<<<<<<4\n"
      "CHAN<<TAI<MAN<<<<<<<<<<<<<<<<<",
      D(2024, 6, 1));
  EXPECT_TRUE(r.check.ok());
  EXPECT_EQ(r.check.kind, DocumentKind::kIdCard);
  EXPECT_EQ(r.fields.document_code, "CR");
  EXPECT_EQ(r.fields.issuing_state, "CHN");
  EXPECT_EQ(r.fields.document_number, "H12345678");
  EXPECT_EQ(*r.check.birth_date, D(2000, 2, 29));
  EXPECT_EQ(*r.check.expiry_date, D(2030, 2, 28));
  EXPECT_EQ(*r.check.age, 24);
  EXPECT_EQ(r.check.sex, Sex::kMale);
  EXPECT_EQ(r.fields.primary_identifier, "CHAN");
  EXPECT_EQ(r.fields.secondary_identifier, "TAI MAN");
}

TEST(Mrz, ChinesePassportTd3) {
  const auto r = check_mrz(
      "POCHNZHANG<<SAN<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nE123456782CHN9003071M3001019<<<<<<<<<<<<<<00",
      D(2024, 6, 1));
  EXPECT_TRUE(r.check.ok());
  EXPECT_EQ(r.fields.document_code, "PO");
  EXPECT_EQ(r.check.kind, DocumentKind::kPassport);
  EXPECT_EQ(r.fields.personal_number, "");
  EXPECT_EQ(*r.check.age, 34);
}

TEST(Mrz, DocumentCodeMustFitTheLayout) {
  EXPECT_EQ(reasons(check_mrz(with(kTd3, 1, 1, 'I'), kAt)),
            std::vector<Reason>{Reason::kMrzDocumentCode});
  EXPECT_EQ(reasons(check_mrz(with(kTd1, 1, 1, 'P'), kAt)),
            std::vector<Reason>{Reason::kMrzDocumentCode});
  EXPECT_EQ(reasons(check_mrz(with(kTd2, 1, 1, 'P'), kAt)),
            std::vector<Reason>{Reason::kMrzDocumentCode});
  EXPECT_EQ(reasons(check_mrz(with(kTd3, 1, 2, '1'), kAt)),
            std::vector<Reason>{Reason::kMrzDocumentCode});
  EXPECT_EQ(reasons(check_mrz(with(kTd3, 1, 1, '<'), kAt)),
            std::vector<Reason>{Reason::kMrzDocumentCode});
}

TEST(Mrz, LettersOnlyFieldsRejectDigits) {
  EXPECT_EQ(reasons(check_mrz(with(kTd3, 1, 7, '3'), kAt)), std::vector<Reason>{Reason::kMrzField});
  EXPECT_EQ(reasons(check_mrz(with(kTd3, 1, 4, '0'), kAt)), std::vector<Reason>{Reason::kMrzField});
  EXPECT_EQ(reasons(check_mrz(with(kTd3, 2, 12, '0'), kAt)),
            std::vector<Reason>{Reason::kMrzField});
  EXPECT_EQ(reasons(check_mrz(with(kTd1, 3, 2, '5'), kAt)), std::vector<Reason>{Reason::kMrzField});
}

// ---- untrusted input ------------------------------------------------------------------------

TEST(MrzInput, ToleratesCrlfSpacesBlankLinesAndJoinedLines) {
  for (const std::string& text :
       {kTd3L1 + "\r\n" + kTd3L2 + "\r\n", kTd3L1 + "   \n" + kTd3L2 + " \t ",
        "\n\n  " + kTd3L1 + "\n\n" + kTd3L2 + "\n\n", kTd3L1 + kTd3L2, kTd3L1 + "\r" + kTd3L2}) {
    const auto r = check_mrz(text, kAt);
    EXPECT_TRUE(r.check.ok()) << text;
    EXPECT_EQ(r.lines, (std::vector<std::string>{kTd3L1, kTd3L2}));
  }
  EXPECT_TRUE(check_mrz(kTd1L1 + kTd1L2 + kTd1L3, kAt).check.ok());
}

TEST(MrzInput, SizeLimit) {
  const std::string big = kTd3 + std::string(kMaxMrzInput, ' ');
  EXPECT_EQ(reasons(check_mrz(big, kAt)), std::vector<Reason>{Reason::kMrzTooLong});
  EXPECT_EQ(reasons(check_mrz(std::string(1 << 20, 'A'), kAt)),
            std::vector<Reason>{Reason::kMrzTooLong});
  // Exactly at the limit is still read.
  const std::string padded = kTd3 + std::string(kMaxMrzInput - kTd3.size(), '\n');
  EXPECT_TRUE(check_mrz(padded, kAt).check.ok());
}

TEST(MrzInput, BadCharactersAndLengths) {
  struct Case {
    std::string text;
    Reason reason;
  };
  std::string lower = kTd3;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  const std::vector<Case> cases = {
      {"", Reason::kMrzFormat},
      {"\n\r\n  \n", Reason::kMrzFormat},
      {kTd3L1, Reason::kMrzFormat},
      {kTd3L1 + "\n" + kTd3L2 + "<", Reason::kMrzFormat},
      {kTd3L1 + "\n" + kTd3L2.substr(0, 43), Reason::kMrzFormat},
      {kTd3L1 + "\n" + kTd3L2 + "\n" + kTd3L2, Reason::kMrzFormat},
      {kTd1L1 + "\n" + kTd1L2, Reason::kMrzFormat},
      {kTd1L1 + "\n" + kTd3L2, Reason::kMrzFormat},
      {lower, Reason::kMrzCharacter},
      {kTd3L1 + "\n" + with(kTd3L2, 1, 5, ' '), Reason::kMrzCharacter},
      {kTd3L1 + "\n" + with(kTd3L2, 1, 5, '-'), Reason::kMrzCharacter},
      {kTd3L1 + "\n" + with(kTd3L2, 1, 5, '\0'), Reason::kMrzCharacter},
      {kTd3L1 + "\n" + with(kTd3L2, 1, 5, '\xc3'), Reason::kMrzCharacter},
      {"P<UTO\xe2\x80\x94", Reason::kMrzCharacter},
  };
  for (const auto& c : cases) {
    const auto r = check_mrz(c.text, kAt);
    EXPECT_EQ(reasons(r), std::vector<Reason>{c.reason}) << c.text;
    EXPECT_FALSE(r.format.has_value());
    EXPECT_FALSE(r.check.valid);
    EXPECT_EQ(r.check.kind, DocumentKind::kUnknown);
  }
}

TEST(MrzInput, SeedCorpusFilesAllParseWithoutSurprises) {
  // Every seed of the fuzzer is a readable MRZ case; none may crash or loop.
  const std::filesystem::path dir =
      std::filesystem::path(SIMKYC_SOURCE_DIR) / "tests/fuzz/corpus/mrz";
  ASSERT_TRUE(std::filesystem::is_directory(dir));
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const auto r = check_mrz(ss.str(), D(2024, 6, 1));
    EXPECT_EQ(r.check.valid, std::all_of(r.check.reasons.begin(), r.check.reasons.end(),
                                         [](Reason x) { return x == Reason::kDocumentExpired; }));
    ++n;
  }
  EXPECT_GE(n, 10);
}

TEST(Mrz, JsonCarriesFieldsAndCorrections) {
  const auto j = to_json(check_mrz(with(kTd3, 2, 16, 'O'), D(2024, 6, 1)));
  EXPECT_EQ(j.at("kind"), "PASSPORT");
  EXPECT_EQ(j.at("valid"), true);
  EXPECT_EQ(j.at("expired"), true);
  EXPECT_EQ(j.at("ok"), false);
  EXPECT_EQ(j.at("birth_date"), "1974-08-12");
  EXPECT_EQ(j.at("expiry_date"), "2012-04-15");
  EXPECT_EQ(j.at("age"), 49);
  EXPECT_EQ(j.at("minor"), false);
  EXPECT_EQ(j.at("sex"), "female");
  EXPECT_EQ(j.at("reasons").size(), 1u);
  EXPECT_EQ(j.at("reasons")[0].at("code"), "DOCUMENT_EXPIRED");
  EXPECT_EQ(j.at("mrz").at("format"), "TD3");
  EXPECT_EQ(j.at("mrz").at("document_number"), "L898902C3");
  EXPECT_EQ(j.at("mrz").at("secondary_identifier"), "ANNA MARIA");
  ASSERT_EQ(j.at("corrections").size(), 1u);
  EXPECT_EQ(j.at("corrections")[0].at("from"), "O");
  EXPECT_EQ(j.at("corrections")[0].at("to"), "0");
  EXPECT_EQ(j.at("corrections")[0].at("column"), 16);

  const auto bad = to_json(check_mrz("nope", kAt));
  EXPECT_TRUE(bad.at("mrz").at("format").is_null());
  EXPECT_EQ(bad.at("kind"), "UNKNOWN");
}

TEST(Mrz, ReasonCodesAreStable) {
  EXPECT_EQ(code(Reason::kMrzFormat), "MRZ_FORMAT");
  EXPECT_EQ(code(Reason::kMrzCharacter), "MRZ_CHARACTER");
  EXPECT_EQ(code(Reason::kMrzTooLong), "MRZ_TOO_LONG");
  EXPECT_EQ(code(Reason::kMrzCheckDigitDocumentNumber), "MRZ_CHECK_DIGIT_DOCUMENT_NUMBER");
  EXPECT_EQ(code(Reason::kMrzCheckDigitBirthDate), "MRZ_CHECK_DIGIT_BIRTH_DATE");
  EXPECT_EQ(code(Reason::kMrzCheckDigitExpiryDate), "MRZ_CHECK_DIGIT_EXPIRY_DATE");
  EXPECT_EQ(code(Reason::kMrzCheckDigitOptionalData), "MRZ_CHECK_DIGIT_OPTIONAL_DATA");
  EXPECT_EQ(code(Reason::kMrzCheckDigitComposite), "MRZ_CHECK_DIGIT_COMPOSITE");
  EXPECT_EQ(code(Reason::kDocumentExpired), "DOCUMENT_EXPIRED");
}
