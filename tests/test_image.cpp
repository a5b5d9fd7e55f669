// Tests for the image guard (src/image): every format from a real photo, EXIF orientation,
// one reason code per kind of bad input, and limits enforced before any pixel is decoded.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <zlib.h>

#include "image/image.h"

using namespace simkyc;
using Buf = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

namespace {

const fs::path kImages = fs::path(SIMKYC_TEST_DATA_DIR) / "images";

Buf read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << p;
  return Buf(std::istreambuf_iterator<char>(in), {});
}

Buf encode(const cv::Mat& m, const std::string& ext, const std::vector<int>& params = {}) {
  Buf out;
  EXPECT_TRUE(cv::imencode(ext, m, out, params)) << ext;
  return out;
}

// The real colour face photo every other format is generated from (608x276 baseline JPEG).
const cv::Mat& face() {
  static const cv::Mat m = cv::imread((kImages / "face_baseline.jpg").string(), cv::IMREAD_COLOR);
  return m;
}

std::uint32_t get_be32(const Buf& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}
void put_be32(Buf& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
void put_be16(Buf& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void put_le32(Buf& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// The payload of the jp2c box: a raw JPEG 2000 codestream (.j2k).
Buf jp2_to_j2k(const Buf& jp2) {
  std::size_t pos = 0;
  while (pos + 8 <= jp2.size()) {
    std::uint64_t len = get_be32(jp2, pos);
    if (len == 0) len = jp2.size() - pos;
    if (std::memcmp(&jp2[pos + 4], "jp2c", 4) == 0) return Buf(jp2.begin() + pos + 8, jp2.begin() + pos + len);
    pos += len;
  }
  ADD_FAILURE() << "no jp2c box";
  return {};
}

// Inserts an APP1 Exif segment with IFD0 = { Orientation (SHORT) = v } right after SOI.
Buf with_exif(const Buf& jpeg, int v, bool big_endian) {
  Buf tiff;
  auto u16 = [&](std::uint32_t x) {
    if (big_endian) { tiff.push_back(static_cast<std::uint8_t>(x >> 8)); tiff.push_back(static_cast<std::uint8_t>(x)); }
    else { tiff.push_back(static_cast<std::uint8_t>(x)); tiff.push_back(static_cast<std::uint8_t>(x >> 8)); }
  };
  auto u32 = [&](std::uint32_t x) {
    if (big_endian) { u16(x >> 16); u16(x & 0xFFFF); } else { u16(x & 0xFFFF); u16(x >> 16); }
  };
  tiff.push_back(big_endian ? 'M' : 'I');
  tiff.push_back(big_endian ? 'M' : 'I');
  u16(42); u32(8);                   // header, IFD0 at 8
  u16(1);                            // one entry
  u16(0x0112); u16(3); u32(1); u16(static_cast<std::uint32_t>(v)); u16(0);
  u32(0);                            // no next IFD
  Buf seg = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  seg.insert(seg.end(), tiff.begin(), tiff.end());
  put_be16(seg, 2, static_cast<std::uint32_t>(seg.size() - 2));
  Buf out;
  out.reserve(jpeg.size() + seg.size());
  out.push_back(jpeg[0]);
  out.push_back(jpeg[1]);
  std::copy(seg.begin(), seg.end(), std::back_inserter(out));
  std::copy(jpeg.begin() + 2, jpeg.end(), std::back_inserter(out));
  return out;
}

std::size_t find(const Buf& b, std::initializer_list<std::uint8_t> pat, std::size_t from = 0) {
  const Buf p(pat);
  auto it = std::search(b.begin() + static_cast<std::ptrdiff_t>(from), b.end(), p.begin(), p.end());
  return it == b.end() ? std::string::npos : static_cast<std::size_t>(it - b.begin());
}

Reason code_of(const Buf& b, const ImageLimits& limits = {}) {
  auto r = decode_image(b, limits);
  return r.ok() ? Reason::kOk : r.error().reason;
}

struct Sample {
  std::string name;
  ImageFormat format;
  Buf bytes;
  int w, h;
};

// One file per format, all generated from the real face photo.
const std::vector<Sample>& samples() {
  static const std::vector<Sample> s = [] {
    const cv::Mat& f = face();
    cv::Mat id_card;
    cv::resize(f(cv::Rect(166, 0, 230, 276)), id_card, cv::Size(102, 126), 0, 0, cv::INTER_AREA);
    cv::Mat grey;
    cv::cvtColor(f, grey, cv::COLOR_BGR2GRAY);
    const Buf jp2 = encode(f, ".jp2");
    return std::vector<Sample>{
        {"jpeg", ImageFormat::kJpeg, read_all(kImages / "face_baseline.jpg"), f.cols, f.rows},
        {"jpeg-progressive", ImageFormat::kJpeg, read_all(kImages / "face_progressive.jpg"), 500, 282},
        {"png", ImageFormat::kPng, encode(f, ".png"), f.cols, f.rows},
        {"bmp-idcard", ImageFormat::kBmp, encode(id_card, ".bmp"), 102, 126},
        {"ppm", ImageFormat::kPnm, encode(f, ".ppm"), f.cols, f.rows},
        {"pgm", ImageFormat::kPnm, encode(grey, ".pgm"), f.cols, f.rows},
        {"webp-lossy", ImageFormat::kWebp, encode(f, ".webp", {cv::IMWRITE_WEBP_QUALITY, 80}), f.cols, f.rows},
        {"webp-lossless", ImageFormat::kWebp, encode(id_card, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}), 102, 126},
        {"jp2", ImageFormat::kJpeg2000, jp2, f.cols, f.rows},
        {"j2k", ImageFormat::kJpeg2000, jp2_to_j2k(jp2), f.cols, f.rows},
    };
  }();
  return s;
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  const cv::Scalar m = cv::mean(d);
  return (m[0] + m[1] + m[2]) / 3.0;
}

// Rewrites the PNG IHDR width/height and fixes its CRC.
Buf png_with_size(Buf png, std::uint32_t w, std::uint32_t h) {
  put_be32(png, 16, w);
  put_be32(png, 20, h);
  put_be32(png, 29, static_cast<std::uint32_t>(crc32(0L, &png[12], 17)));
  return png;
}

Buf jpeg_with_size(Buf jpeg, std::uint32_t w, std::uint32_t h) {
  const std::size_t sof = find(jpeg, {0xFF, 0xC0});
  EXPECT_NE(sof, std::string::npos);
  put_be16(jpeg, sof + 5, h);
  put_be16(jpeg, sof + 7, w);
  return jpeg;
}

Buf bmp_with_size(Buf bmp, std::int32_t w, std::int32_t h) {
  put_le32(bmp, 18, static_cast<std::uint32_t>(w));
  put_le32(bmp, 22, static_cast<std::uint32_t>(h));
  return bmp;
}

// SIZ sits right after SOC in a codestream: Xsiz at +8, Ysiz at +12 from SOC.
Buf j2k_with_size(Buf j2k, std::size_t soc, std::uint32_t w, std::uint32_t h) {
  put_be32(j2k, soc + 8, w);
  put_be32(j2k, soc + 12, h);
  return j2k;
}

Buf webp_with_size(Buf webp, int w, int h) {
  const std::size_t sc = find(webp, {0x9D, 0x01, 0x2A});  // VP8 key frame start code
  EXPECT_NE(sc, std::string::npos);
  webp[sc + 3] = static_cast<std::uint8_t>(w & 0xFF);
  webp[sc + 4] = static_cast<std::uint8_t>((w >> 8) & 0x3F);
  webp[sc + 5] = static_cast<std::uint8_t>(h & 0xFF);
  webp[sc + 6] = static_cast<std::uint8_t>((h >> 8) & 0x3F);
  return webp;
}

Buf text(const std::string& s) { return Buf(s.begin(), s.end()); }

const Sample& sample(const std::string& name) {
  for (const auto& s : samples())
    if (s.name == name) return s;
  ADD_FAILURE() << name;
  return samples().front();
}

// Headers claiming 16000x16000 (256 MP: OpenCV itself would allocate 768 MB for it) and
// 60000x60000, one per format.
std::vector<std::pair<std::string, Buf>> huge_headers() {
  std::vector<std::pair<std::string, Buf>> v;
  for (std::uint32_t side : {16000u, 60000u}) {
    const std::string tag = "-" + std::to_string(side);
    v.emplace_back("jpeg" + tag, jpeg_with_size(sample("jpeg").bytes, side, side));
    v.emplace_back("png" + tag, png_with_size(sample("png").bytes, side, side));
    v.emplace_back("bmp" + tag, bmp_with_size(sample("bmp-idcard").bytes, static_cast<std::int32_t>(side),
                                              -static_cast<std::int32_t>(side)));
    Buf pnm = text("P6\n" + std::to_string(side) + " " + std::to_string(side) + "\n255\n");
    pnm.resize(pnm.size() + 4096, 0x80);
    v.emplace_back("ppm" + tag, pnm);
    const Buf& jp2 = sample("jp2").bytes;
    v.emplace_back("jp2" + tag, j2k_with_size(jp2, find(jp2, {0xFF, 0x4F, 0xFF, 0x51}), side, side));
    v.emplace_back("j2k" + tag, j2k_with_size(sample("j2k").bytes, 0, side, side));
  }
  v.emplace_back("webp-16000", webp_with_size(sample("webp-lossy").bytes, 16000, 16000));
  return v;
}

}  // namespace

// ------------------------------------------------------------------------------ formats

TEST(ImageSniff, RecognisesEachSignatureAndNothingElse) {
  for (const auto& s : samples()) EXPECT_EQ(sniff_format(s.bytes), s.format) << s.name;
  EXPECT_EQ(sniff_format(text("GIF89a....")), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_format(text("II*\0")), ImageFormat::kUnknown);       // TIFF
  EXPECT_EQ(sniff_format(text("P7\nWIDTH 1")), ImageFormat::kUnknown);  // PAM
  EXPECT_EQ(sniff_format(text("RIFF\x10\0\0\0WAVE")), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_format(Buf{0xFF, 0xD8}), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_format(Buf{}), ImageFormat::kUnknown);
  EXPECT_EQ(to_string(ImageFormat::kJpeg2000), "jpeg2000");
  EXPECT_EQ(to_string(ImageFormat::kUnknown), "unknown");
}

TEST(ImageDecode, EveryFormatFromARealPhotoDecodesToItsSize) {
  const cv::Mat& f = face();
  ASSERT_EQ(f.size(), cv::Size(608, 276));
  for (const auto& s : samples()) {
    SCOPED_TRACE(s.name);
    auto r = decode_image(s.bytes);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->format, s.format);
    EXPECT_EQ(r->bgr.type(), CV_8UC3);
    EXPECT_EQ(r->bgr.cols, s.w);
    EXPECT_EQ(r->bgr.rows, s.h);
    EXPECT_EQ(r->exif_orientation, 1);
    // Same picture as OpenCV's own decoder gives (lossless ones exactly, lossy ones closely).
    cv::Mat ref = cv::imdecode(s.bytes, cv::IMREAD_COLOR);
    EXPECT_LT(mean_abs_diff(r->bgr, ref), 0.01);
    if (s.w == f.cols && s.name != "pgm") {
      EXPECT_LT(mean_abs_diff(r->bgr, f), 4.0);
    }
  }
  // PNG and PPM round-trip the photo exactly.
  EXPECT_EQ(mean_abs_diff(decode_image(sample("png").bytes)->bgr, f), 0.0);
  EXPECT_EQ(mean_abs_diff(decode_image(sample("ppm").bytes)->bgr, f), 0.0);
}

TEST(ImageDecode, GreyInputsBecomeThreeEqualChannels) {
  std::vector<Buf> inputs = {read_all(kImages / "orl_s1_1.pgm"), read_all(kImages / "face_grey.png"),
                             sample("pgm").bytes};
  cv::Mat grey;
  cv::cvtColor(face(), grey, cv::COLOR_BGR2GRAY);
  inputs.push_back(encode(grey, ".jpg"));
  const std::vector<cv::Size> sizes = {{92, 112}, {150, 150}, {608, 276}, {608, 276}};
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto r = decode_image(inputs[i]);
    ASSERT_TRUE(r.ok()) << i << " " << r.error().describe();
    EXPECT_EQ(r->bgr.type(), CV_8UC3);
    EXPECT_EQ(r->bgr.size(), sizes[i]);
    std::vector<cv::Mat> ch;
    cv::split(r->bgr, ch);
    EXPECT_EQ(cv::norm(ch[0], ch[1], cv::NORM_INF), 0.0) << i;
    EXPECT_EQ(cv::norm(ch[1], ch[2], cv::NORM_INF), 0.0) << i;
  }
}

TEST(ImageDecode, AlphaAndSixteenBitBecomeEightBitBgr) {
  cv::Mat bgra;
  cv::cvtColor(face(), bgra, cv::COLOR_BGR2BGRA);
  bgra.forEach<cv::Vec4b>([](cv::Vec4b& p, const int* pos) { p[3] = static_cast<std::uint8_t>(100 + pos[1] % 150); });
  for (const char* ext : {".png", ".webp"}) {
    auto r = decode_image(encode(bgra, ext, {cv::IMWRITE_WEBP_QUALITY, 101}));
    ASSERT_TRUE(r.ok()) << ext << " " << r.error().describe();
    EXPECT_EQ(r->bgr.type(), CV_8UC3) << ext;
    EXPECT_EQ(mean_abs_diff(r->bgr, face()), 0.0) << ext;  // colour kept, alpha dropped
  }
  cv::Mat wide;
  face().convertTo(wide, CV_16U, 257.0);  // 16-bit with the same visual values
  for (const char* ext : {".png", ".ppm"}) {
    auto r = decode_image(encode(wide, ext));
    ASSERT_TRUE(r.ok()) << ext << " " << r.error().describe();
    EXPECT_EQ(r->bgr.type(), CV_8UC3) << ext;
    EXPECT_LE(mean_abs_diff(r->bgr, face()), 0.5) << ext;
  }
  // A PGM with maxval 1023 is scaled to the full 8-bit range, not shifted.
  Buf pgm = text("P5\n2 1\n1023\n");
  pgm.insert(pgm.end(), {0x03, 0xFF, 0x02, 0x00});  // 1023, 512
  auto r = decode_image(pgm);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
  EXPECT_NEAR(r->bgr.at<cv::Vec3b>(0, 1)[0], 128, 1);
}

TEST(ImageDecode, AsciiPnm) {
  auto p1 = decode_image(text("P1\n# tiny\n3 2\n1 0 1\n010\n"));
  ASSERT_TRUE(p1.ok()) << p1.error().describe();
  EXPECT_EQ(p1->bgr.size(), cv::Size(3, 2));
  EXPECT_EQ(p1->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));  // 1 is black in PBM
  EXPECT_EQ(p1->bgr.at<cv::Vec3b>(0, 1), cv::Vec3b(255, 255, 255));
  auto p3 = decode_image(text("P3 1 1 255\n10 20 30\n"));
  ASSERT_TRUE(p3.ok()) << p3.error().describe();
  EXPECT_EQ(p3->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(30, 20, 10));
}

TEST(ImageDecode, RunLengthBmp) {
  // 4x2, 8-bit RLE, palette {black, white}: bottom row 4 x white, top row 2 x black + 2 x white.
  Buf rle = {'B', 'M', 72, 0, 0, 0, 0, 0, 0, 0, 62, 0, 0, 0,    // file header, pixels at 62
             40, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 1, 0, 8, 0,  // info header: 4x2, 8 bpp
             1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   // BI_RLE8, sizes, resolution
             2, 0, 0, 0, 0, 0, 0, 0,                           // 2 palette entries
             0, 0, 0, 0, 255, 255, 255, 0,                     // palette
             4, 1, 0, 0, 2, 0, 2, 1, 0, 1};                    // run, EOL, runs, EOB
  ASSERT_EQ(rle.size(), 72u);
  auto r = decode_image(rle);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->bgr.size(), cv::Size(4, 2));
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(1, 0), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 3), cv::Vec3b(255, 255, 255));
  // Cut after the first row: no end-of-bitmap code, and the decoder runs out of data.
  EXPECT_EQ(code_of(Buf(rle.begin(), rle.begin() + 66)), Reason::kImageTruncated);
}

// --------------------------------------------------------------------------------- EXIF

TEST(ImageExif, RealScreenReplayPhotoIsTurnedUpright) {
  const Buf b = read_all(kImages / "exif_orientation6.jpg");
  auto r = decode_image(b);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->exif_orientation, 6);
  const cv::Mat stored = cv::imdecode(b, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  ASSERT_EQ(stored.size(), cv::Size(640, 480));
  EXPECT_EQ(r->bgr.size(), cv::Size(480, 640));
  cv::Mat cw;
  cv::rotate(stored, cw, cv::ROTATE_90_CLOCKWISE);
  EXPECT_EQ(mean_abs_diff(r->bgr, cw), 0.0);
}

TEST(ImageExif, AllEightOrientationsInBothByteOrders) {
  // 64x32 picture with a distinct colour in each corner quadrant.
  cv::Mat m(32, 64, CV_8UC3);
  const cv::Vec3b tl(0, 0, 255), tr(0, 255, 0), bl(255, 0, 0), br(255, 255, 255);
  m(cv::Rect(0, 0, 32, 16)).setTo(tl);
  m(cv::Rect(32, 0, 32, 16)).setTo(tr);
  m(cv::Rect(0, 16, 32, 16)).setTo(bl);
  m(cv::Rect(32, 16, 32, 16)).setTo(br);
  const Buf jpeg = encode(m, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 98});
  // Which stored corner shows at the displayed top-left and top-right (EXIF 2.3, tag 0x0112).
  const cv::Vec3b want_tl[9] = {{}, tl, tr, br, bl, tl, bl, br, tr};
  const cv::Vec3b want_tr[9] = {{}, tr, tl, bl, br, bl, tl, tr, br};
  auto near = [](cv::Vec3b a, cv::Vec3b b) { return cv::norm(a, b, cv::NORM_INF) < 24; };
  for (bool be : {false, true}) {
    for (int o = 1; o <= 8; ++o) {
      SCOPED_TRACE("orientation " + std::to_string(o) + (be ? " MM" : " II"));
      auto r = decode_image(with_exif(jpeg, o, be));
      ASSERT_TRUE(r.ok()) << r.error().describe();
      EXPECT_EQ(r->exif_orientation, o);
      const cv::Mat& out = r->bgr;
      EXPECT_EQ(out.size(), o >= 5 ? cv::Size(32, 64) : cv::Size(64, 32));
      EXPECT_TRUE(near(out.at<cv::Vec3b>(2, 2), want_tl[o])) << out.at<cv::Vec3b>(2, 2);
      EXPECT_TRUE(near(out.at<cv::Vec3b>(2, out.cols - 3), want_tr[o])) << out.at<cv::Vec3b>(2, out.cols - 3);
    }
  }
}

TEST(ImageExif, MalformedOrMissingExifMeansNoRotation) {
  const Buf jpeg = encode(face(), ".jpg");
  for (int bad : {0, 9, 0xFFFF}) {
    auto r = decode_image(with_exif(jpeg, bad, false));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->exif_orientation, 1);
    EXPECT_EQ(r->bgr.size(), face().size());
  }
  // IFD offset pointing far outside the segment, and an empty IFD.
  Buf b = with_exif(jpeg, 6, false);
  Buf c = b;
  b[2 + 10 + 4] = 0xF0;   // IFD0 offset low byte -> beyond the segment
  c[2 + 10 + 8] = 0x00;   // no IFD entries
  c[2 + 10 + 9] = 0x00;
  for (const Buf& x : {b, c}) {
    auto r = decode_image(x);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->bgr.size(), face().size());
  }
  // Other formats never rotate.
  EXPECT_EQ(decode_image(sample("png").bytes)->exif_orientation, 1);
}

// ------------------------------------------------------------------------------ refusals

TEST(ImageGuard, EmptyInputIsImageEmpty) {
  EXPECT_EQ(code_of(Buf{}), Reason::kImageEmpty);
}

TEST(ImageGuard, ByteLimitIsImageTooLarge) {
  const Buf& b = sample("png").bytes;
  ImageLimits l;
  l.max_bytes = b.size() - 1;
  EXPECT_EQ(code_of(b, l), Reason::kImageTooLarge);
  l.max_bytes = b.size();
  EXPECT_EQ(code_of(b, l), Reason::kOk);
  // Over the limit is refused even when the content is garbage: size is checked first.
  l.max_bytes = 10;
  EXPECT_EQ(code_of(text("this is not an image at all"), l), Reason::kImageTooLarge);
}

TEST(ImageGuard, UnknownContentIsUnsupported) {
  EXPECT_EQ(code_of(text("GIF89a\x01\0\x01\0")), Reason::kImageUnsupported);
  EXPECT_EQ(code_of(text("II*\0\x08\0\0\0")), Reason::kImageUnsupported);
  EXPECT_EQ(code_of(text("hello, world")), Reason::kImageUnsupported);
  EXPECT_EQ(code_of(Buf{0x00}), Reason::kImageUnsupported);
  // Recognised containers with content OpenCV cannot decode.
  Buf lossless = sample("jpeg").bytes;
  lossless[find(lossless, {0xFF, 0xC0}) + 1] = 0xC3;  // SOF3: lossless JPEG
  EXPECT_EQ(code_of(lossless), Reason::kImageUnsupported);
  Buf bmp = sample("bmp-idcard").bytes;
  put_le32(bmp, 30, 4);  // BI_JPEG compression
  EXPECT_EQ(code_of(bmp), Reason::kImageUnsupported);
}

TEST(ImageGuard, CutOffFilesAreTruncated) {
  for (const auto& s : samples()) {
    const std::size_t n = s.bytes.size();
    for (std::size_t keep : {n / 3, n / 2, n * 9 / 10, n - 1}) {
      const Buf cut(s.bytes.begin(), s.bytes.begin() + static_cast<std::ptrdiff_t>(keep));
      EXPECT_EQ(code(code_of(cut)), code(Reason::kImageTruncated)) << s.name << " cut to " << keep << "/" << n;
    }
  }
  // JPEG without its EOI marker; PNG without its IEND chunk.
  const Buf& j = sample("jpeg").bytes;
  ASSERT_EQ(j[j.size() - 2], 0xFF);
  ASSERT_EQ(j[j.size() - 1], 0xD9);
  EXPECT_EQ(code_of(Buf(j.begin(), j.end() - 2)), Reason::kImageTruncated);
  const Buf& p = sample("png").bytes;
  EXPECT_EQ(code_of(Buf(p.begin(), p.end() - 12)), Reason::kImageTruncated);
  // Trailing bytes after the end marker are harmless.
  Buf tail = j;
  tail.insert(tail.end(), 100, 0x42);
  EXPECT_EQ(code_of(tail), Reason::kOk);
}

TEST(ImageGuard, RandomBytesAfterAValidHeaderAreCorrupt) {
  // Keep each file up to the end of its header, replace the rest with random bytes.
  struct Case { std::string name; std::size_t keep; };
  const Buf& jpeg = sample("jpeg").bytes;
  const std::size_t sos = find(jpeg, {0xFF, 0xDA});
  const std::size_t sos_end = sos + 2 + ((std::size_t{jpeg[sos + 2]} << 8) | jpeg[sos + 3]);
  const Buf& jp2 = sample("jp2").bytes;
  const std::vector<Case> cases = {
      {"jpeg", find(jpeg, {0xFF, 0xDB})},     // after SOI/APP0, before the tables
      {"jpeg", sos_end},                       // after the scan header: garbage scan data
      {"jpeg", sos_end + 2000},                // in the middle of the scan data
      {"jpeg-progressive", 600},
      {"png", 33},                             // signature + IHDR
      {"png", 33 + 100},
      {"webp-lossy", 12},                      // RIFF header
      {"webp-lossless", 12},
      {"jp2", 12},                             // signature box
      {"jp2", find(jp2, {0xFF, 0x4F, 0xFF, 0x51}) + 4 + 41 + 6},  // inside the codestream's main header
      {"j2k", 2 + 2 + 47},                     // after SIZ
  };
  for (const auto& c : cases) {
    const Buf& src = sample(c.name).bytes;
    for (unsigned seed = 1; seed <= 20; ++seed) {
      std::mt19937 rng(seed);
      Buf b(src.begin(), src.begin() + static_cast<std::ptrdiff_t>(c.keep));
      while (b.size() < src.size()) b.push_back(static_cast<std::uint8_t>(rng()));
      EXPECT_EQ(code(code_of(b)), code(Reason::kImageCorrupt)) << c.name << " keep " << c.keep << " seed " << seed;
    }
  }
}

TEST(ImageGuard, DamagedHeadersAreCorrupt) {
  Buf png = sample("png").bytes;
  png[40] ^= 0x55;  // a byte inside the chunk after IHDR: CRC mismatch
  EXPECT_EQ(code_of(png), Reason::kImageCorrupt);
  Buf png_depth = sample("png").bytes;
  png_depth[24] = 7;  // bit depth 7
  put_be32(png_depth, 29, static_cast<std::uint32_t>(crc32(0L, &png_depth[12], 17)));
  EXPECT_EQ(code_of(png_depth), Reason::kImageCorrupt);
  Buf bmp = sample("bmp-idcard").bytes;
  put_le32(bmp, 14, 33);  // unknown info header size
  EXPECT_EQ(code_of(bmp), Reason::kImageCorrupt);
  Buf bmp_pal = sample("bmp-idcard").bytes;
  put_le32(bmp_pal, 28, 8);      // 8 bpp ...
  put_le32(bmp_pal, 46, 70000);  // ... with a 70000-entry palette
  EXPECT_EQ(code_of(bmp_pal), Reason::kImageCorrupt);
  EXPECT_EQ(code_of(text("P5\n2 2\n0\n....")), Reason::kImageCorrupt);         // maxval 0
  EXPECT_EQ(code_of(text("P5\n2 2\n70000\n........")), Reason::kImageCorrupt);  // maxval > 65535
  EXPECT_EQ(code_of(text("P5\n2 2\n4294967296\n....")), Reason::kImageCorrupt);
  EXPECT_EQ(code_of(text("P6\nwide 2\n255\n....")), Reason::kImageCorrupt);
  EXPECT_EQ(code_of(text("P2\n2 1\n255\n12 x7\n")), Reason::kImageCorrupt);
  Buf jpeg = sample("jpeg").bytes;
  jpeg[find(jpeg, {0xFF, 0xC4}) + 4] = 0x77;  // DHT table class 7
  EXPECT_EQ(code_of(jpeg), Reason::kImageCorrupt);
  // 101 scans (a CPU-amplification pattern: each scan is a pass over the whole image).
  const Buf& j = sample("jpeg").bytes;
  const auto sos = static_cast<std::ptrdiff_t>(find(j, {0xFF, 0xDA}));
  Buf many(j.begin(), j.begin() + sos);
  for (int i = 0; i < 101; ++i) std::copy(j.begin() + sos, j.end() - 2, std::back_inserter(many));
  many.push_back(0xFF);
  many.push_back(0xD9);
  EXPECT_EQ(code_of(many), Reason::kImageCorrupt);
}

TEST(ImageGuard, ZeroOrNegativeDimensionsAreBadDimensions) {
  EXPECT_EQ(code_of(png_with_size(sample("png").bytes, 0, 276)), Reason::kImageBadDimensions);
  EXPECT_EQ(code_of(png_with_size(sample("png").bytes, 0x80000000u, 1)), Reason::kImageBadDimensions);
  EXPECT_EQ(code_of(jpeg_with_size(sample("jpeg").bytes, 608, 0)), Reason::kImageBadDimensions);
  const Buf& bmp = sample("bmp-idcard").bytes;
  EXPECT_EQ(code_of(bmp_with_size(bmp, 102, 0)), Reason::kImageBadDimensions);
  EXPECT_EQ(code_of(bmp_with_size(bmp, -102, 126)), Reason::kImageBadDimensions);
  EXPECT_EQ(code_of(bmp_with_size(bmp, 102, INT32_MIN)), Reason::kImageBadDimensions);
  EXPECT_EQ(code_of(text("P5\n0 5\n255\n\x01")), Reason::kImageBadDimensions);
  EXPECT_EQ(code_of(text("P4 99999999999999999999 1\n\x01")), Reason::kImageBadDimensions);
  const Buf& j2k = sample("j2k").bytes;
  Buf x = j2k;
  put_be32(x, 16, 608);  // XOsiz == Xsiz: zero width
  EXPECT_EQ(code_of(x), Reason::kImageBadDimensions);
  // A top-down (negative height) BMP is valid and comes out upright.
  Buf top_down = bmp_with_size(bmp, 102, -126);
  auto r = decode_image(top_down);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  cv::Mat flipped;
  cv::flip(decode_image(bmp)->bgr, flipped, 0);
  EXPECT_EQ(mean_abs_diff(r->bgr, flipped), 0.0);
}

TEST(ImageGuard, HugeHeadersAreRefusedQuicklyBeforeDecoding) {
  for (const auto& [name, bytes] : huge_headers()) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = decode_image(bytes);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code(), code(Reason::kImageTooManyPixels)) << name << " " << r.error().describe();
    EXPECT_LT(ms, 100.0) << name;
  }
  // The per-side and per-pixel limits are each enforced.
  ImageLimits l;
  l.max_side = 600;
  EXPECT_EQ(code_of(sample("png").bytes, l), Reason::kImageTooManyPixels);  // 608 wide
  l = {};
  l.max_pixels = 608 * 276 - 1;
  EXPECT_EQ(code_of(sample("png").bytes, l), Reason::kImageTooManyPixels);
  l.max_pixels = 608 * 276;
  EXPECT_EQ(code_of(sample("png").bytes, l), Reason::kOk);
}

// Runs the same refusals in a child process whose address space is capped at 256 MB above what
// it already uses: any attempt to allocate the claimed pixels would fail there.
TEST(ImageGuardDeathTest, HugeHeadersAllocateNothing) {
  const std::string old_style = GTEST_FLAG_GET(death_test_style);
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // OpenCV may have started threads
  const auto inputs = huge_headers();
  auto run = [&inputs] {
    long pages = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    const rlim_t cap = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + (256u << 20);
    const rlimit lim{cap, cap};
    if (pages == 0 || setrlimit(RLIMIT_AS, &lim) != 0) std::_Exit(3);
    // The cap bites: a 16000x16000 BGR image cannot be allocated here.
    try {
      cv::Mat big(16000, 16000, CV_8UC3);
      std::_Exit(4);
    } catch (...) {
    }
    for (const auto& [name, bytes] : inputs) {
      auto r = decode_image(bytes);
      if (r.ok() || r.error().reason != Reason::kImageTooManyPixels) std::_Exit(5);
    }
    std::_Exit(0);
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(0), "");
  GTEST_FLAG_SET(death_test_style, old_style);
}

TEST(ImageGuard, MutatedFilesNeverCrashAndGiveImageCodes) {
  // A small in-process fuzz pass (the libFuzzer target goes much further).
  ImageLimits l;
  l.max_pixels = 1'000'000;
  l.max_side = 4096;
  const std::set<Reason> allowed = {Reason::kOk, Reason::kImageUnsupported, Reason::kImageTruncated,
                                    Reason::kImageCorrupt, Reason::kImageBadDimensions,
                                    Reason::kImageTooManyPixels, Reason::kImageTooLarge};
  std::mt19937 rng(12345);
  for (const auto& s : samples()) {
    for (int i = 0; i < 100; ++i) {
      Buf b = s.bytes;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k) {
        // Bias towards the header, where the parsers live.
        const std::size_t at = rng() % 2 ? rng() % std::min<std::size_t>(b.size(), 256) : rng() % b.size();
        b[at] = static_cast<std::uint8_t>(rng());
      }
      if (rng() % 4 == 0) b.resize(rng() % b.size() + 1);
      auto r = decode_image(b, l);
      const Reason got = r.ok() ? Reason::kOk : r.error().reason;
      EXPECT_TRUE(allowed.count(got)) << s.name << " " << code(got);
      if (r.ok()) {
        EXPECT_EQ(r->bgr.type(), CV_8UC3);
        EXPECT_LE(static_cast<std::uint64_t>(r->bgr.total()), l.max_pixels);
      }
    }
  }
}

// ------------------------------------------------------------------------------- files

class ImageLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("simkyc_image_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const Buf& b) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return p;
  }
  fs::path dir_;
};

TEST_F(ImageLoad, ExtensionMustNotNameAnotherFormat) {
  const Buf& png = sample("png").bytes;
  auto r = load_image(write("photo.jpg", png));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kImageWrongExtension);
  EXPECT_EQ(load_image(write("photo.webp", sample("jpeg").bytes)).error().reason, Reason::kImageWrongExtension);
  EXPECT_EQ(load_image(write("card.bmp", sample("jp2").bytes)).error().reason, Reason::kImageWrongExtension);
  // Matching, differently cased, related (PGM named .ppm) or absent extensions are fine.
  EXPECT_TRUE(load_image(write("photo.PNG", png)).ok());
  EXPECT_TRUE(load_image(write("face.ppm", sample("pgm").bytes)).ok());
  EXPECT_TRUE(load_image(write("chip.j2k", sample("j2k").bytes)).ok());
  EXPECT_TRUE(load_image(write("upload", png)).ok());
  EXPECT_TRUE(load_image(write("upload.bin", png)).ok());
  // Unknown content under an image name is unsupported, not a naming problem.
  EXPECT_EQ(load_image(write("fake.jpg", text("not an image"))).error().reason, Reason::kImageUnsupported);
}

TEST_F(ImageLoad, FileErrorsAndLimits) {
  EXPECT_EQ(load_image(dir_ / "missing.jpg").error().reason, Reason::kIoError);
  EXPECT_EQ(load_image(dir_).error().reason, Reason::kIoError);
  EXPECT_EQ(load_image(write("empty.jpg", {})).error().reason, Reason::kImageEmpty);
  ImageLimits l;
  l.max_bytes = 1000;
  EXPECT_EQ(load_image(write("big.png", sample("png").bytes), l).error().reason, Reason::kImageTooLarge);
  auto r = load_image(kImages / "exif_orientation6.jpg");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->bgr.size(), cv::Size(480, 640));
}
