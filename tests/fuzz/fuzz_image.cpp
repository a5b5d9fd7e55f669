// libFuzzer target for the image guard: any bytes into decode_image() with small limits.
//
// Built and run by hand with (from the repository root):
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//     -isystem /usr/include/opencv4 -I/usr/include/openjpeg-2.5 -I/usr/include/libpng16 \
//     tests/fuzz/fuzz_image.cpp src/image/*.cpp src/core/*.cpp \
//     -lopencv_imgcodecs -lopencv_imgproc -lopencv_core \
//     -lwebp -lopenjp2 -lturbojpeg -lpng16 -lz -o /tmp/fuzz_image
//   /tmp/fuzz_image -max_len=65536 -rss_limit_mb=2048 -timeout=10 /tmp/fuzz_image_corpus tests/fuzz/corpus/image
// (The system codec libraries are not instrumented; ASan/UBSan cover simkyc's own parsers and
// catch out-of-bounds writes into buffers we own.)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "image/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  simkyc::ImageLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_pixels = 1u << 20;  // 1 MP: keeps each decode fast
  limits.max_side = 4096;
  const std::span<const std::uint8_t> bytes(data, size);
  const simkyc::ImageFormat sniffed = simkyc::sniff_format(bytes);
  auto r = simkyc::decode_image(bytes, limits);
  if (r.ok()) {
    // The contract: a non-empty 8UC3 image within the limits, of the sniffed format.
    const cv::Mat& m = r->bgr;
    if (m.empty() || m.type() != CV_8UC3 || static_cast<std::uint64_t>(m.total()) > limits.max_pixels ||
        m.cols > limits.max_side || m.rows > limits.max_side || r->format != sniffed ||
        r->exif_orientation < 1 || r->exif_orientation > 8)
      std::abort();
  } else {
    const simkyc::Reason why = r.error().reason;
    if (why == simkyc::Reason::kOk || why == simkyc::Reason::kIoError ||
        why == simkyc::Reason::kImageWrongExtension)
      std::abort();
  }
  return 0;
}
