// Header probes for the image guard (see detail_probe.h).  Small, bounds-checked parsers of the
// container structure of each format; the codecs' own header-only calls (tjDecompressHeader3,
// WebPGetFeatures, opj_read_header) confirm the dimensions where they exist.
#include "image/detail_probe.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>

#include <openjpeg.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <zlib.h>

namespace simkyc::image_detail {
namespace {

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > kU64Max / a) return kU64Max;
  return a * b;
}
std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) { return b > kU64Max - a ? kU64Max : a + b; }

// Callers check bounds before every read.
std::uint32_t be16(Bytes d, std::size_t at) { return (std::uint32_t{d[at]} << 8) | d[at + 1]; }
std::uint32_t be32(Bytes d, std::size_t at) {
  return (std::uint32_t{d[at]} << 24) | (std::uint32_t{d[at + 1]} << 16) |
         (std::uint32_t{d[at + 2]} << 8) | d[at + 3];
}
std::uint64_t be64(Bytes d, std::size_t at) {
  return (std::uint64_t{be32(d, at)} << 32) | be32(d, at + 4);
}
std::uint32_t le16(Bytes d, std::size_t at) { return std::uint32_t{d[at]} | (std::uint32_t{d[at + 1]} << 8); }
std::uint32_t le32(Bytes d, std::size_t at) {
  return std::uint32_t{d[at]} | (std::uint32_t{d[at + 1]} << 8) | (std::uint32_t{d[at + 2]} << 16) |
         (std::uint32_t{d[at + 3]} << 24);
}

Probe& fail(Probe& p, Reason r, std::string detail) {
  p.problem = r;
  p.detail = std::move(detail);
  return p;
}
void set_dims(Probe& p, std::uint64_t w, std::uint64_t h) {
  p.have_dims = true;
  p.width = w;
  p.height = h;
  if (w == 0 || h == 0) p.bad_dims = true;
}

// ------------------------------------------------------------------------------------- JPEG

bool is_sof(std::uint8_t m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

constexpr int kMaxJpegScans = 100;  // progressive files have ~10-20; each scan is a pass over
                                    // the whole image, so many tiny scans are a CPU attack

}  // namespace

int exif_orientation_from_tiff(Bytes t) {
  if (t.size() < 8) return 1;
  bool le;
  if (t[0] == 'I' && t[1] == 'I') le = true;
  else if (t[0] == 'M' && t[1] == 'M') le = false;
  else return 1;
  auto u16 = [&](std::size_t at) { return le ? le16(t, at) : be16(t, at); };
  auto u32 = [&](std::size_t at) { return le ? le32(t, at) : be32(t, at); };
  if (u16(2) != 42) return 1;
  const std::uint64_t ifd = u32(4);
  if (ifd < 8 || ifd + 2 > t.size()) return 1;
  const std::uint32_t count = u16(ifd);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t e = ifd + 2 + 12 * i;
    if (e + 12 > t.size()) break;
    if (u16(e) != 0x0112) continue;
    const std::uint32_t type = u16(e + 2);
    const std::uint32_t n = u32(e + 4);
    std::uint32_t v = 0;
    if (type == 3 && n >= 1) v = u16(e + 8);        // SHORT, the standard type
    else if (type == 4 && n >= 1) v = u32(e + 8);   // LONG, written by a few tools
    return (v >= 1 && v <= 8) ? static_cast<int>(v) : 1;
  }
  return 1;
}

namespace {

bool is_app_or_com(std::uint8_t m) { return (m >= 0xE0 && m <= 0xEF) || m == 0xFE; }

// Checks the bytes of a marker segment that are present (all of it, or a file's cut-off tail)
// against the segment's syntax.  Lets a walk tell a cut-off segment from random bytes.
bool jpeg_segment_plausible(std::uint8_t m, std::size_t len, Bytes b) {
  const std::size_t body = len - 2;       // declared payload size
  const bool whole = b.size() == body;
  if (is_sof(m)) {
    if (b.size() < 6) return body >= 6 || !whole;
    return b[5] >= 1 && body == 6 + 3 * std::size_t{b[5]};
  }
  switch (m) {
    case 0xDA:  // SOS
      if (b.empty()) return !whole;
      return b[0] >= 1 && b[0] <= 4 && body == 4 + 2 * std::size_t{b[0]};
    case 0xDD: case 0xDC:  // DRI, DNL
      return body == 2;
    case 0xCC:  // DAC
      return body % 2 == 0;
    case 0xC4: {  // DHT: tables of (class/id, 16 counts, values)
      std::size_t t = 0;
      while (t < b.size()) {
        if ((b[t] >> 4) > 1 || (b[t] & 15) > 3) return false;
        if (t + 17 > b.size()) return !whole;
        std::size_t sum = 0;
        for (std::size_t i = 1; i <= 16; ++i) sum += b[t + i];
        if (sum > 256) return false;
        t += 17 + sum;
      }
      return !whole || t == body;
    }
    case 0xDB: {  // DQT: tables of (precision/id, 64 or 128 bytes)
      std::size_t t = 0;
      while (t < b.size()) {
        if ((b[t] >> 4) > 1 || (b[t] & 15) > 3) return false;
        t += 1 + 64 * (static_cast<std::size_t>(b[t] >> 4) + 1);
      }
      return !whole || t == body;
    }
    default:
      return true;
  }
}

}  // namespace

Probe probe_jpeg(Bytes d) {
  Probe p;
  const std::size_t n = d.size();
  std::size_t pos = 2;  // after SOI
  bool sof = false, sos = false, exif_seen = false;
  int scans = 0;
  int sof_marker = 0, precision = 8;
  for (;;) {
    if (pos >= n) return fail(p, Reason::kImageTruncated, "JPEG ends before EOI");
    if (d[pos] != 0xFF) return fail(p, Reason::kImageCorrupt, "JPEG: expected a marker");
    while (pos < n && d[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= n) return fail(p, Reason::kImageTruncated, "JPEG ends before EOI");
    const std::uint8_t m = d[pos++];
    if (m == 0xD9) {  // EOI
      if (!sof || !sos) return fail(p, Reason::kImageCorrupt, "JPEG: EOI before image data");
      break;
    }
    if (m == 0x01) continue;  // TEM, no length
    const bool known = is_sof(m) || m == 0xC4 || m == 0xCC || (m >= 0xDA && m <= 0xDF) || is_app_or_com(m);
    if (!known) return fail(p, Reason::kImageCorrupt, "JPEG: unexpected marker");
    if (is_sof(m) && sof) return fail(p, Reason::kImageCorrupt, "JPEG: second frame header");
    if (pos + 2 > n) return fail(p, Reason::kImageTruncated, "JPEG ends inside a marker");
    const std::size_t len = be16(d, pos);
    if (len < 2) return fail(p, Reason::kImageCorrupt, "JPEG: bad segment length");
    const Bytes seg = d.subspan(pos + 2, std::min(len - 2, n - pos - 2));
    if (!jpeg_segment_plausible(m, len, seg)) return fail(p, Reason::kImageCorrupt, "JPEG: malformed segment");
    if (len > n - pos) {
      // Only a table segment between scans can legitimately be cut off there; an APPn/COM
      // segment that overruns the file after scan data is random bytes.
      if (sos && !(m == 0xC4 || m == 0xDB || m == 0xDA || m == 0xCC || m == 0xDD))
        return fail(p, Reason::kImageCorrupt, "JPEG: segment overruns the file");
      return fail(p, Reason::kImageTruncated, "JPEG ends inside a segment");
    }
    if (is_sof(m)) {
      precision = seg[0];
      set_dims(p, be16(seg, 3), be16(seg, 1));  // height 0 means "see DNL": not supported
      sof = true;
      sof_marker = m;
    } else if (m == 0xE1 && !exif_seen && seg.size() >= 6 &&
               std::memcmp(seg.data(), "Exif\0\0", 6) == 0) {
      exif_seen = true;
      p.exif_orientation = exif_orientation_from_tiff(seg.subspan(6));
    }
    pos += len;
    if (m == 0xDA) {  // SOS: entropy-coded data follows, up to the next non-RST marker
      if (!sof) return fail(p, Reason::kImageCorrupt, "JPEG: scan before frame header");
      sos = true;
      if (++scans > kMaxJpegScans) return fail(p, Reason::kImageCorrupt, "JPEG: too many scans");
      for (;;) {
        const void* ff = pos < n ? std::memchr(d.data() + pos, 0xFF, n - pos) : nullptr;
        if (ff == nullptr) return fail(p, Reason::kImageTruncated, "JPEG ends inside scan data");
        pos = static_cast<std::size_t>(static_cast<const std::uint8_t*>(ff) - d.data());
        if (pos + 1 >= n) return fail(p, Reason::kImageTruncated, "JPEG ends inside scan data");
        const std::uint8_t next = d[pos + 1];
        if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
          pos += 2;  // stuffed byte or restart marker
        } else if (next == 0xFF) {
          pos += 1;  // fill byte before a marker
        } else {
          break;  // a marker: the outer loop reads it
        }
      }
    }
  }
  // Baseline, extended and progressive Huffman/arithmetic 8-bit frames are decodable; lossless,
  // hierarchical and 12/16-bit frames are not (with the 8-bit libjpeg OpenCV uses).
  const bool lossless_or_hier =
      sof_marker == 0xC3 || sof_marker == 0xC5 || sof_marker == 0xC6 || sof_marker == 0xC7 ||
      sof_marker == 0xCB || sof_marker == 0xCD || sof_marker == 0xCE || sof_marker == 0xCF;
  if (lossless_or_hier || precision != 8)
    return fail(p, Reason::kImageUnsupported, "JPEG: lossless, hierarchical or >8-bit");
  return p;
}

void confirm_jpeg(Bytes d, Probe& p) {
  // libjpeg-turbo's header reader refuses some valid files (unusual chroma subsampling), so
  // only a disagreement with the frame header counts; the decoder is the final judge.
  tjhandle tj = tjInitDecompress();
  if (tj == nullptr) return;
  int w = 0, h = 0, ss = 0, cs = 0;
  const int rc = tjDecompressHeader3(tj, d.data(), static_cast<unsigned long>(d.size()), &w, &h, &ss, &cs);
  tjDestroy(tj);
  if (rc == 0 && (static_cast<std::uint64_t>(w) != p.width || static_cast<std::uint64_t>(h) != p.height))
    fail(p, Reason::kImageCorrupt, "JPEG: inconsistent frame headers");
}

// -------------------------------------------------------------------------------------- PNG

Probe probe_png(Bytes d) {
  Probe p;
  const std::size_t n = d.size();
  if (n < 8 + 8 + 13) return fail(p, Reason::kImageTruncated, "PNG ends inside IHDR");
  if (be32(d, 8) != 13 || std::memcmp(d.data() + 12, "IHDR", 4) != 0)
    return fail(p, Reason::kImageCorrupt, "PNG: first chunk is not IHDR");
  const std::uint32_t w = be32(d, 16), h = be32(d, 20);
  set_dims(p, w, h);
  if (w > 0x7FFFFFFFu || h > 0x7FFFFFFFu) p.bad_dims = true;  // PNG's own range
  const int depth = d[24], ctype = d[25];
  bool ok_combo = false;
  switch (ctype) {
    case 0: ok_combo = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16; break;
    case 3: ok_combo = depth == 1 || depth == 2 || depth == 4 || depth == 8; break;
    case 2: case 4: case 6: ok_combo = depth == 8 || depth == 16; break;
    default: break;
  }
  if (!ok_combo || d[26] != 0 || d[27] != 0 || d[28] > 1)
    return fail(p, Reason::kImageCorrupt, "PNG: invalid IHDR");

  std::size_t pos = 8;
  bool idat = false, first = true;
  for (;;) {
    if (n - pos < 12) return fail(p, Reason::kImageTruncated, "PNG ends before IEND");
    const std::uint32_t len = be32(d, pos);
    const std::uint8_t* type = d.data() + pos + 4;
    for (int i = 0; i < 4; ++i) {
      const std::uint8_t c = type[i];
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
        return fail(p, Reason::kImageCorrupt, "PNG: invalid chunk type");
    }
    if (len > 0x7FFFFFFFu) return fail(p, Reason::kImageCorrupt, "PNG: invalid chunk length");
    if (len > n - pos - 12) return fail(p, Reason::kImageTruncated, "PNG ends inside a chunk");
    const std::uint32_t stored = be32(d, pos + 8 + len);
    const auto crc = static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), type, len + 4));
    if (crc != stored) return fail(p, Reason::kImageCorrupt, "PNG: chunk CRC mismatch");
    const std::string_view t(reinterpret_cast<const char*>(type), 4);
    if (t == "IHDR" && !first) return fail(p, Reason::kImageCorrupt, "PNG: second IHDR");
    if (t == "IDAT") idat = true;
    if (t == "IEND") {
      if (!idat) return fail(p, Reason::kImageCorrupt, "PNG: no image data");
      break;
    }
    first = false;
    pos += 12 + static_cast<std::size_t>(len);
  }
  return p;
}

// -------------------------------------------------------------------------------------- BMP

namespace {

// Walks an RLE4/RLE8 stream looking for the end-of-bitmap code.  Ensures: true when found.
bool rle_has_end(Bytes d, std::size_t pos, bool rle4) {
  const std::size_t n = d.size();
  while (pos + 2 <= n) {
    const std::uint8_t count = d[pos], value = d[pos + 1];
    pos += 2;
    if (count != 0) continue;        // encoded run
    if (value == 1) return true;     // end of bitmap
    if (value == 0) continue;        // end of line
    if (value == 2) { pos += 2; continue; }  // delta
    std::size_t bytes = rle4 ? (static_cast<std::size_t>(value) + 1) / 2 : value;
    pos += (bytes + 1) & ~std::size_t{1};    // absolute run, padded to 16 bits
  }
  return false;
}

}  // namespace

Probe probe_bmp(Bytes d) {
  Probe p;
  const std::size_t n = d.size();
  if (n < 18) return fail(p, Reason::kImageTruncated, "BMP ends inside the file header");
  const std::uint64_t off = le32(d, 10);
  const std::uint64_t hs = le32(d, 14);
  if (hs != 12 && (hs < 40 || hs > 0x7FFFFFFF))
    return fail(p, Reason::kImageCorrupt, "BMP: unknown info header size");
  if (hs > n - 14) return fail(p, Reason::kImageTruncated, "BMP ends inside the info header");
  std::uint32_t bpp, compression = 0, clr_used = 0;
  std::int64_t height;
  if (hs == 12) {
    set_dims(p, le16(d, 18), le16(d, 20));
    height = le16(d, 20);
    bpp = le16(d, 24);
  } else {
    const auto w = static_cast<std::int32_t>(le32(d, 18));
    height = static_cast<std::int32_t>(le32(d, 22));
    const std::uint64_t abs_h = height < 0 ? static_cast<std::uint64_t>(-height) : static_cast<std::uint64_t>(height);
    set_dims(p, w > 0 ? static_cast<std::uint64_t>(w) : 0, abs_h);
    if (w <= 0 || height == 0 || height == std::numeric_limits<std::int32_t>::min()) p.bad_dims = true;
    bpp = le16(d, 28);
    compression = le32(d, 30);
    clr_used = le32(d, 46);
  }
  const bool rle = compression == 1 || compression == 2;
  const bool supported =
      hs == 12 ? (bpp == 1 || bpp == 4 || bpp == 8 || bpp == 24 || bpp == 32)
               : (compression == 0 && (bpp == 1 || bpp == 4 || bpp == 8 || bpp == 16 || bpp == 24 || bpp == 32)) ||
                     (compression == 3 && (bpp == 16 || bpp == 32)) ||
                     (compression == 1 && bpp == 8) || (compression == 2 && bpp == 4);
  if (!supported) {
    if (bpp == 0 || bpp > 32 || compression > 6)
      return fail(p, Reason::kImageCorrupt, "BMP: invalid bit depth or compression");
    return fail(p, Reason::kImageUnsupported, "BMP: unsupported bit depth or compression");
  }
  if (rle && height < 0) return fail(p, Reason::kImageCorrupt, "BMP: top-down RLE bitmap");
  std::uint64_t table_end = 14 + hs;
  if (bpp <= 8) {
    if (clr_used > 256) return fail(p, Reason::kImageCorrupt, "BMP: palette too large");
    const std::uint64_t entries = clr_used == 0 ? (1u << bpp) : clr_used;
    table_end += entries * (hs == 12 ? 3 : 4);
  } else if (compression == 3 && bpp == 16) {
    table_end += 12;
    if (table_end <= n) {
      const std::uint32_t r = le32(d, 14 + hs), g = le32(d, 18 + hs), b = le32(d, 22 + hs);
      const bool rgb555 = r == 0x7C00 && g == 0x3E0 && b == 0x1F;
      const bool rgb565 = r == 0xF800 && g == 0x7E0 && b == 0x1F;
      if (!rgb555 && !rgb565) return fail(p, Reason::kImageUnsupported, "BMP: unusual 16-bit masks");
    }
  }
  if (table_end > n) return fail(p, Reason::kImageTruncated, "BMP ends inside the palette");
  if (off < 14 + hs || off > 0x7FFFFFFF) return fail(p, Reason::kImageCorrupt, "BMP: bad pixel offset");
  if (off >= n) return fail(p, Reason::kImageTruncated, "BMP ends before the pixels");
  if (rle) {
    p.truncation_suspected = !rle_has_end(d, static_cast<std::size_t>(off), compression == 2);
  } else if (!p.bad_dims) {
    const std::uint64_t stride = ((sat_mul(p.width, bpp) + 31) / 32) * 4;
    if (sat_add(off, sat_mul(stride, p.height)) > n)
      return fail(p, Reason::kImageTruncated, "BMP ends inside the pixels");
  }
  return p;
}

// -------------------------------------------------------------------------------------- PNM

namespace {

bool pnm_space(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Skips whitespace and '#' comments.  Ensures: pos <= n.
void pnm_skip(Bytes d, std::size_t& pos) {
  while (pos < d.size()) {
    if (pnm_space(d[pos])) {
      ++pos;
    } else if (d[pos] == '#') {
      while (pos < d.size() && d[pos] != '\n' && d[pos] != '\r') ++pos;
    } else {
      break;
    }
  }
}

enum class NumResult { kOk, kEnd, kBad };

// Reads a decimal header number, capped at 2^32 so it cannot overflow.
NumResult pnm_number(Bytes d, std::size_t& pos, std::uint64_t& out) {
  pnm_skip(d, pos);
  if (pos >= d.size()) return NumResult::kEnd;
  if (d[pos] < '0' || d[pos] > '9') return NumResult::kBad;
  std::uint64_t v = 0;
  while (pos < d.size() && d[pos] >= '0' && d[pos] <= '9') {
    v = std::min<std::uint64_t>(v * 10 + (d[pos] - '0'), std::uint64_t{1} << 32);
    ++pos;
  }
  out = v;
  return NumResult::kOk;
}

}  // namespace

Probe probe_pnm(Bytes d) {
  Probe p;
  const int kind = d[1] - '0';  // 1..6
  std::size_t pos = 2;
  std::uint64_t w = 0, h = 0, maxval = 1;
  for (std::uint64_t* v : {&w, &h}) {
    const NumResult r = pnm_number(d, pos, *v);
    if (r == NumResult::kEnd) return fail(p, Reason::kImageTruncated, "PNM ends inside the header");
    if (r == NumResult::kBad) return fail(p, Reason::kImageCorrupt, "PNM: bad header");
  }
  set_dims(p, w, h);
  if (w > 0x7FFFFFFF || h > 0x7FFFFFFF) p.bad_dims = true;
  if (kind != 1 && kind != 4) {
    const NumResult r = pnm_number(d, pos, maxval);
    if (r == NumResult::kEnd) return fail(p, Reason::kImageTruncated, "PNM ends inside the header");
    if (r == NumResult::kBad) return fail(p, Reason::kImageCorrupt, "PNM: bad header");
    if (maxval == 0 || maxval > 65535) return fail(p, Reason::kImageCorrupt, "PNM: bad maxval");
  }
  p.pnm_maxval = static_cast<int>(maxval);
  // Exactly one whitespace byte ends the header.
  if (pos >= d.size()) return fail(p, Reason::kImageTruncated, "PNM has no pixel data");
  if (!pnm_space(d[pos])) return fail(p, Reason::kImageCorrupt, "PNM: bad header");
  ++pos;
  if (p.bad_dims) return p;

  const std::uint64_t channels = (kind == 3 || kind == 6) ? 3 : 1;
  const std::uint64_t samples = sat_mul(sat_mul(w, h), channels);
  if (kind >= 4) {
    const std::uint64_t need = kind == 4 ? sat_mul((w + 7) / 8, h) : sat_mul(samples, maxval > 255 ? 2 : 1);
    if (need > d.size() - pos) return fail(p, Reason::kImageTruncated, "PNM ends inside the pixels");
  } else {
    // ASCII: count the samples present (P1 digits need no separators).
    std::uint64_t count = 0;
    while (count < samples) {
      pnm_skip(d, pos);
      if (pos >= d.size()) break;
      const std::uint8_t c = d[pos];
      if (c < '0' || c > '9') return fail(p, Reason::kImageCorrupt, "PNM: bad sample");
      if (kind == 1) {
        ++pos;
      } else {
        while (pos < d.size() && d[pos] >= '0' && d[pos] <= '9') ++pos;
      }
      ++count;
    }
    if (count < samples) return fail(p, Reason::kImageTruncated, "PNM ends inside the pixels");
  }
  return p;
}

// ------------------------------------------------------------------------------------- WebP

Probe probe_webp(Bytes d) {
  Probe p;
  const std::size_t n = d.size();
  const std::uint64_t riff_end = std::uint64_t{le32(d, 4)} + 8;
  if (riff_end < 20) return fail(p, Reason::kImageCorrupt, "WebP: bad RIFF size");
  WebPBitstreamFeatures f;
  const VP8StatusCode st = WebPGetFeatures(d.data(), n, &f);
  if (st == VP8_STATUS_OK) {
    set_dims(p, f.width > 0 ? static_cast<std::uint64_t>(f.width) : 0,
             f.height > 0 ? static_cast<std::uint64_t>(f.height) : 0);
    if (f.has_animation) return fail(p, Reason::kImageUnsupported, "WebP: animation");
  } else if (st == VP8_STATUS_NOT_ENOUGH_DATA) {
    return fail(p, Reason::kImageTruncated, "WebP ends inside the header");
  } else if (st == VP8_STATUS_UNSUPPORTED_FEATURE) {
    return fail(p, Reason::kImageUnsupported, "WebP: unsupported feature");
  } else {
    return fail(p, Reason::kImageCorrupt, "WebP: invalid header");
  }
  // Walk the RIFF chunks: every chunk must fit inside the RIFF payload.
  const std::uint64_t end = std::min<std::uint64_t>(riff_end, n);
  std::uint64_t pos = 12;
  bool image_chunk = false;
  while (pos < end) {
    if (end - pos < 8) {
      if (end < riff_end) return fail(p, Reason::kImageTruncated, "WebP ends inside a chunk");
      return fail(p, Reason::kImageCorrupt, "WebP: chunk overruns RIFF");
    }
    const std::uint64_t size = le32(d, static_cast<std::size_t>(pos) + 4);
    const std::string_view t(reinterpret_cast<const char*>(d.data() + pos), 4);
    if (t == "VP8 " || t == "VP8L") image_chunk = true;
    const std::uint64_t next = pos + 8 + size + (size & 1);
    if (pos + 8 + size > end) {
      if (end < riff_end) return fail(p, Reason::kImageTruncated, "WebP ends inside a chunk");
      return fail(p, Reason::kImageCorrupt, "WebP: chunk overruns RIFF");
    }
    pos = next;
  }
  if (end < riff_end) return fail(p, Reason::kImageTruncated, "WebP ends early");
  if (!image_chunk) return fail(p, Reason::kImageCorrupt, "WebP: no image data");
  return p;
}

// ------------------------------------------------------------------------------ JPEG 2000

namespace {

constexpr std::uint64_t kMaxJ2kTiles = 4096;   // single-tile files are the norm; OpenJPEG
                                               // allocates per tile while reading the header
constexpr std::uint32_t kMaxJ2kComponents = 4;

// Reads SIZ and walks the codestream: main-header marker segments, then tile-parts hopped by
// their Psot lengths, up to EOC.
Probe probe_codestream(Bytes d) {
  Probe p;
  const std::size_t n = d.size();
  if (n < 4) return fail(p, Reason::kImageTruncated, "JPEG 2000 ends inside the header");
  if (be16(d, 0) != 0xFF4F || be16(d, 2) != 0xFF51)
    return fail(p, Reason::kImageCorrupt, "JPEG 2000: codestream does not start with SOC, SIZ");
  if (n < 6) return fail(p, Reason::kImageTruncated, "JPEG 2000 ends inside SIZ");
  const std::size_t lsiz = be16(d, 4);
  if (lsiz < 41) return fail(p, Reason::kImageCorrupt, "JPEG 2000: bad SIZ length");
  if (4 + lsiz > n) return fail(p, Reason::kImageTruncated, "JPEG 2000 ends inside SIZ");
  const std::uint64_t xsiz = be32(d, 8), ysiz = be32(d, 12), xo = be32(d, 16), yo = be32(d, 20);
  const std::uint64_t xt = be32(d, 24), yt = be32(d, 28), xto = be32(d, 32), yto = be32(d, 36);
  const std::uint32_t comps = be16(d, 40);
  set_dims(p, xsiz > xo ? xsiz - xo : 0, ysiz > yo ? ysiz - yo : 0);
  if (comps == 0 || lsiz != 38 + 3 * static_cast<std::size_t>(comps))
    return fail(p, Reason::kImageCorrupt, "JPEG 2000: bad component count");
  if (p.bad_dims) return p;
  if (xt == 0 || yt == 0 || xto > xo || yto > yo || xto + xt <= xo || yto + yt <= yo)
    return fail(p, Reason::kImageCorrupt, "JPEG 2000: bad tiling");
  if (comps > kMaxJ2kComponents) return fail(p, Reason::kImageUnsupported, "JPEG 2000: too many components");
  // What OpenCV's OpenJPEG decoder handles: unsigned 8..16-bit samples, no subsampled
  // components, no image offset on the reference grid.
  int max_precision = 0;
  for (std::uint32_t c = 0; c < comps; ++c) {
    const std::size_t at = 42 + 3 * static_cast<std::size_t>(c);
    if (d[at + 1] == 0 || d[at + 2] == 0) return fail(p, Reason::kImageCorrupt, "JPEG 2000: bad sampling");
    if ((d[at] & 0x80) != 0) return fail(p, Reason::kImageUnsupported, "JPEG 2000: signed samples");
    if (d[at + 1] != 1 || d[at + 2] != 1) return fail(p, Reason::kImageUnsupported, "JPEG 2000: subsampled components");
    max_precision = std::max(max_precision, (d[at] & 0x7F) + 1);
  }
  if (max_precision < 8 || max_precision > 16) return fail(p, Reason::kImageUnsupported, "JPEG 2000: sample precision");
  if (xo != 0 || yo != 0) return fail(p, Reason::kImageUnsupported, "JPEG 2000: image offset");
  const std::uint64_t tiles = sat_mul((xsiz - xto + xt - 1) / xt, (ysiz - yto + yt - 1) / yt);
  if (tiles > kMaxJ2kTiles) return fail(p, Reason::kImageUnsupported, "JPEG 2000: too many tiles");

  std::size_t pos = 4 + lsiz;
  bool sot = false;
  std::uint64_t tile_parts = 0;
  for (;;) {
    if (n - pos < 2) return fail(p, Reason::kImageTruncated, "JPEG 2000 ends before EOC");
    if (d[pos] != 0xFF) return fail(p, Reason::kImageCorrupt, "JPEG 2000: expected a marker");
    const std::uint8_t m = d[pos + 1];
    if (m == 0xD9) {  // EOC
      if (!sot) return fail(p, Reason::kImageCorrupt, "JPEG 2000: no tile data");
      break;
    }
    if (m == 0x90) {  // SOT
      if (n - pos < 12) return fail(p, Reason::kImageTruncated, "JPEG 2000 ends inside SOT");
      if (be16(d, pos + 2) != 10 || be16(d, pos + 4) >= tiles)
        return fail(p, Reason::kImageCorrupt, "JPEG 2000: bad SOT");
      sot = true;
      if (++tile_parts > tiles * 255) return fail(p, Reason::kImageCorrupt, "JPEG 2000: too many tile-parts");
      const std::uint64_t psot = be32(d, pos + 6);
      if (psot == 0) {  // the last tile-part runs to EOC at the end of the codestream
        if (n - pos >= 16 && d[n - 2] == 0xFF && d[n - 1] == 0xD9) break;
        return fail(p, Reason::kImageTruncated, "JPEG 2000 ends before EOC");
      }
      if (psot < 14) return fail(p, Reason::kImageCorrupt, "JPEG 2000: bad tile-part length");
      if (psot > n - pos) return fail(p, Reason::kImageTruncated, "JPEG 2000 ends inside a tile-part");
      pos += static_cast<std::size_t>(psot);
      continue;
    }
    if (sot) return fail(p, Reason::kImageCorrupt, "JPEG 2000: expected SOT or EOC");
    if (m >= 0x30 && m <= 0x3F) {  // reserved markers without a segment
      pos += 2;
      continue;
    }
    if (m < 0x30 || m == 0x4F || m == 0x51) return fail(p, Reason::kImageCorrupt, "JPEG 2000: unexpected marker");
    if (n - pos < 4) return fail(p, Reason::kImageTruncated, "JPEG 2000 ends inside a marker");
    const std::size_t len = be16(d, pos + 2);
    if (len < 2) return fail(p, Reason::kImageCorrupt, "JPEG 2000: bad segment length");
    if (len > n - pos - 2) return fail(p, Reason::kImageTruncated, "JPEG 2000 ends inside a segment");
    pos += 2 + len;
  }
  return p;
}

struct MemStream {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos;
};

OPJ_SIZE_T mem_read(void* buf, OPJ_SIZE_T nb, void* user) {
  auto* s = static_cast<MemStream*>(user);
  if (s->pos >= s->size) return static_cast<OPJ_SIZE_T>(-1);
  const std::size_t k = std::min<std::size_t>(nb, s->size - s->pos);
  std::memcpy(buf, s->data + s->pos, k);
  s->pos += k;
  return k;
}
OPJ_OFF_T mem_skip(OPJ_OFF_T nb, void* user) {
  auto* s = static_cast<MemStream*>(user);
  if (nb < 0) {
    if (static_cast<std::uint64_t>(-nb) > s->pos) return -1;
    s->pos -= static_cast<std::size_t>(-nb);
    return nb;
  }
  if (static_cast<std::uint64_t>(nb) > s->size - s->pos) return -1;
  s->pos += static_cast<std::size_t>(nb);
  return nb;
}
OPJ_BOOL mem_seek(OPJ_OFF_T off, void* user) {
  auto* s = static_cast<MemStream*>(user);
  if (off < 0 || static_cast<std::uint64_t>(off) > s->size) return OPJ_FALSE;
  s->pos = static_cast<std::size_t>(off);
  return OPJ_TRUE;
}
void opj_quiet(const char*, void*) {}

// OpenJPEG's header-only read.  Ensures: true and the image size when the main header parses.
bool opj_header_size(Bytes d, bool jp2, std::uint64_t& w, std::uint64_t& h) {
  MemStream ms{d.data(), d.size(), 0};
  opj_stream_t* stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
  if (stream == nullptr) return false;
  opj_stream_set_user_data(stream, &ms, nullptr);
  opj_stream_set_user_data_length(stream, d.size());
  opj_stream_set_read_function(stream, mem_read);
  opj_stream_set_skip_function(stream, mem_skip);
  opj_stream_set_seek_function(stream, mem_seek);
  opj_codec_t* codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  bool ok = false;
  if (codec != nullptr) {
    opj_set_info_handler(codec, opj_quiet, nullptr);
    opj_set_warning_handler(codec, opj_quiet, nullptr);
    opj_set_error_handler(codec, opj_quiet, nullptr);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    opj_image_t* image = nullptr;
    if (opj_setup_decoder(codec, &params) && opj_read_header(stream, codec, &image) && image != nullptr &&
        image->x1 >= image->x0 && image->y1 >= image->y0) {
      w = image->x1 - image->x0;
      h = image->y1 - image->y0;
      ok = true;
    }
    if (image != nullptr) opj_image_destroy(image);
    opj_destroy_codec(codec);
  }
  opj_stream_destroy(stream);
  return ok;
}

bool box_type_ok(Bytes d, std::size_t at) {
  for (std::size_t i = 0; i < 4; ++i) {
    const std::uint8_t c = d[at + i];
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

}  // namespace

Probe probe_jpeg2000(Bytes d, bool jp2) {
  Probe p;
  if (!jp2) {
    p = probe_codestream(d);
  } else {
    // Boxes: signature (12 bytes, checked by the sniffer), ftyp, ..., jp2c (the codestream).
    const std::size_t n = d.size();
    std::size_t pos = 12;
    bool found = false;
    bool first = true;
    while (pos < n) {
      if (n - pos < 8) return fail(p, Reason::kImageTruncated, "JP2 ends inside a box header");
      std::uint64_t len = be32(d, pos);
      std::size_t hdr = 8;
      if (!box_type_ok(d, pos + 4)) return fail(p, Reason::kImageCorrupt, "JP2: invalid box type");
      const std::string_view type(reinterpret_cast<const char*>(d.data() + pos + 4), 4);
      if (first && type != "ftyp") return fail(p, Reason::kImageCorrupt, "JP2: no file type box");
      first = false;
      if (len == 1) {
        if (n - pos < 16) return fail(p, Reason::kImageTruncated, "JP2 ends inside a box header");
        len = be64(d, pos + 8);
        hdr = 16;
      } else if (len == 0) {
        len = n - pos;
      }
      if (len < hdr) return fail(p, Reason::kImageCorrupt, "JP2: bad box length");
      const bool cut = len > n - pos;
      if (type == "jp2c") {
        const std::size_t avail = static_cast<std::size_t>(std::min<std::uint64_t>(len, n - pos));
        p = probe_codestream(d.subspan(pos + hdr, avail - hdr));
        if (p.problem == Reason::kOk && cut) fail(p, Reason::kImageTruncated, "JP2 ends inside the codestream");
        found = true;
        break;
      }
      if (cut) return fail(p, Reason::kImageTruncated, "JP2 ends inside a box");
      pos += static_cast<std::size_t>(len);
    }
    if (!found) return fail(p, Reason::kImageTruncated, "JP2 ends before the codestream");
  }
  return p;
}

void confirm_jpeg2000(Bytes d, bool jp2, Probe& p) {
  // Tile and component counts were bounded by the probe: OpenJPEG may read the main header.
  std::uint64_t w = 0, h = 0;
  if (!opj_header_size(d, jp2, w, h)) fail(p, Reason::kImageCorrupt, "JPEG 2000: header rejected");
  else if (w != p.width || h != p.height) fail(p, Reason::kImageCorrupt, "JPEG 2000: inconsistent header");
}

}  // namespace simkyc::image_detail
