// src/image/image.h — decoding and guarding untrusted images.
//
// Everything that enters simkyc as an image passes through decode_image() first.  The guard
// checks the byte size, sniffs the real format from the content (never trusting the file name),
// reads the dimensions from the header and refuses images over the pixel limit BEFORE any pixel
// is decoded, then decodes with OpenCV and applies the EXIF orientation.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include <opencv2/core.hpp>

#include "core/result.h"

namespace simkyc {

enum class ImageFormat { kUnknown, kJpeg, kPng, kBmp, kPnm, kWebp, kJpeg2000 };
std::string_view to_string(ImageFormat f);

struct ImageLimits {
  std::uint64_t max_bytes = 20u << 20;        // 20 MiB file size
  std::uint64_t max_pixels = 40'000'000;      // width * height
  int max_side = 16384;                       // either dimension
};

struct Image {
  cv::Mat bgr;                 // 8-bit, 3 channels, BGR, EXIF orientation already applied
                               // (grey is replicated, alpha dropped, 16-bit scaled to 8-bit)
  ImageFormat format = ImageFormat::kUnknown;
  int exif_orientation = 1;    // 1..8 as found in the file (1 = none)
};

// Sniffs the format from the first bytes.  Ensures: kUnknown when no supported signature matches.
ImageFormat sniff_format(std::span<const std::uint8_t> data);

// Decodes an in-memory image.
// Requires: nothing (any bytes).
// Ensures: on success a non-empty 8UC3 BGR image within limits.
// Errors: kImageEmpty (0 bytes), kImageTooLarge (bytes), kImageUnsupported (unknown signature, or
//   a variant the decoders cannot handle: lossless/12-bit JPEG, animated WebP, subsampled JPEG 2000),
//   kImageTooManyPixels (header dimensions over limits, checked before decoding pixels),
//   kImageBadDimensions (zero/negative dimensions in header), kImageTruncated (data ends early),
//   kImageCorrupt (decoder failed on data that was not simply truncated), kInternal (out of memory).
// Only JPEG carries an orientation (APP1 Exif IFD0 tag 0x0112); other formats report 1.
Result<Image> decode_image(std::span<const std::uint8_t> data, const ImageLimits& limits = {});

// Reads and decodes a file.  Additionally:
// Errors: kIoError (missing/unreadable), kImageWrongExtension when the file name's extension names
//   a different supported format than the content (e.g. a PNG named .jpg).  Files without a
//   known image extension are accepted by content.
Result<Image> load_image(const std::filesystem::path& path, const ImageLimits& limits = {});

}  // namespace simkyc
