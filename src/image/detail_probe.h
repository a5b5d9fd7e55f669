// src/image/detail_probe.h — internal to src/image: per-format header probes.
//
// A probe reads only headers and container structure (markers, chunks, boxes, tile-parts),
// never pixels.  It finds the dimensions, then checks that the file is structurally complete,
// so that decode_image() can refuse oversized images before decoding and tell a cut-off file
// (kImageTruncated) from damaged data (kImageCorrupt).  Every read is bounds-checked and no probe
// allocates beyond a few fixed-size objects.  A problem found after the dimensions were read
// does not hide them: decode_image() checks dimensions and limits first.
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "core/reason.h"

namespace simkyc::image_detail {

using Bytes = std::span<const std::uint8_t>;

struct Probe {
  bool have_dims = false;        // width/height were read from the header
  bool bad_dims = false;         // header dimensions are zero, negative or out of the format's range
  std::uint64_t width = 0;
  std::uint64_t height = 0;
  Reason problem = Reason::kOk;  // kImageTruncated / kImageCorrupt / kImageUnsupported, or kOk
  std::string detail;            // for Error::detail; no personal data
  bool truncation_suspected = false;  // no end marker found where one is optional (BMP RLE):
                                      // a decoder failure then means truncated, not corrupt
  int exif_orientation = 1;      // JPEG only: 1..8 (1 when absent or invalid)
  int pnm_maxval = 0;            // PNM only
};

// Each probe requires that the data starts with its format's signature (sniff_format() said so).
Probe probe_jpeg(Bytes d);
Probe probe_png(Bytes d);
Probe probe_bmp(Bytes d);
Probe probe_pnm(Bytes d);
Probe probe_webp(Bytes d);
Probe probe_jpeg2000(Bytes d, bool jp2_container);

// Second opinions from the codecs' header-only readers (tjDecompressHeader3, opj_read_header),
// run after the limits were checked.  Set p.problem to kImageCorrupt when the codec rejects the
// header or disagrees about the size.  Require: the probe found no problem and valid dims.
void confirm_jpeg(Bytes d, Probe& p);
void confirm_jpeg2000(Bytes d, bool jp2_container, Probe& p);

// Reads the Orientation tag (0x0112) of IFD0 from a TIFF structure (the payload of a JPEG APP1
// "Exif\0\0" segment after those 6 bytes).  Ensures: 1..8; 1 when absent, invalid or malformed.
int exif_orientation_from_tiff(Bytes tiff);

}  // namespace simkyc::image_detail
