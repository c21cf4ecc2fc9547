// IDX reading: whole-file reads (gunzipped in memory) and strict, bounds-checked parsing.
#include "nosync/data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "nosync/data/paths.h"
#include "nosync/util/error.h"

namespace nosync::data {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kIdxImagesMagic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // unsigned byte, 1 dimension
constexpr const char* kRedownloadHint = "the file is truncated or corrupt; re-download it";

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

const char* idx_type_name(uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown type";
  }
}

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& path) {
  // The gzip trailer's ISIZE (uncompressed size mod 2^32) is a good first guess for the output
  // size; it is only a hint (it may lie in a corrupt file), so cap it and grow as needed.
  size_t guess = in.size() * 4;
  if (in.size() >= 18) {
    const uint8_t* t = in.data() + in.size() - 4;
    size_t isize = uint32_t{t[0]} | (uint32_t{t[1]} << 8) | (uint32_t{t[2]} << 16) | (uint32_t{t[3]} << 24);
    // Deflate cannot expand by more than ~1032x; anything beyond that is a lie.
    if (isize > 0 && isize / 1032 <= in.size()) guess = isize + 1;  // +1: see stream end without growing
  }
  guess = std::max<size_t>(guess, 4096);

  std::vector<uint8_t> out(guess);
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    throw UserError(fmt::format("{}: cannot start gzip decompression (zlib: out of memory?)", path));
  }
  struct Guard {
    z_stream* zs;
    ~Guard() { inflateEnd(zs); }
  } guard{&zs};

  size_t in_pos = 0;
  size_t out_pos = 0;
  const size_t chunk_max = std::numeric_limits<uInt>::max();
  for (;;) {
    if (out_pos == out.size()) out.resize(out.size() * 2);
    zs.next_in = const_cast<Bytef*>(in.data() + in_pos);
    zs.avail_in = static_cast<uInt>(std::min(in.size() - in_pos, chunk_max));
    zs.next_out = out.data() + out_pos;
    zs.avail_out = static_cast<uInt>(std::min(out.size() - out_pos, chunk_max));
    const size_t avail_in_before = zs.avail_in;
    const size_t avail_out_before = zs.avail_out;
    int rc = inflate(&zs, Z_NO_FLUSH);
    in_pos += avail_in_before - zs.avail_in;
    out_pos += avail_out_before - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (in_pos == in.size()) break;
      // Concatenated gzip members are valid gzip; anything else after the end is not.
      if (in.size() - in_pos >= 2 && in[in_pos] == 0x1f && in[in_pos + 1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      throw UserError(
          fmt::format("{}: corrupt gzip file: expected end of file after the compressed stream, found {} "
                      "trailing bytes at byte offset {}",
                      path, in.size() - in_pos, in_pos),
          kRedownloadHint);
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {
      if (zs.avail_out == 0) continue;  // output full: grow and go on
      if (in_pos == in.size()) {
        throw UserError(fmt::format("{}: truncated gzip file: the compressed stream ends at byte {} without "
                                    "its end marker ({} bytes decompressed so far)",
                                    path, in.size(), out_pos),
                        kRedownloadHint);
      }
      throw UserError(fmt::format("{}: corrupt gzip data near compressed byte offset {}: no progress possible", path,
                                  in_pos),
                      kRedownloadHint);
    }
    if (rc == Z_MEM_ERROR) {
      throw UserError(fmt::format("{}: out of memory while decompressing ({} bytes so far)", path, out_pos));
    }
    // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR
    throw UserError(fmt::format("{}: corrupt gzip data near compressed byte offset {}: {}", path, in_pos,
                                zs.msg ? zs.msg : "invalid deflate stream"),
                    kRedownloadHint);
  }
  out.resize(out_pos);
  out.shrink_to_fit();
  return out;
}

// Parses the magic and dimensions of an IDX file with `want_dims` dimensions of unsigned bytes.
// Returns the dimensions; checks that the file size matches them exactly.
std::vector<uint64_t> parse_idx_header(const std::vector<uint8_t>& bytes, const std::string& source,
                                       uint32_t want_magic, const char* what) {
  const int want_dims = static_cast<int>(want_magic & 0xff);
  const std::string expected_magic = fmt::format("0x{:08x}", want_magic);
  const std::string hint_format = fmt::format(
      "expected an IDX {} file (magic {}); check data.dir and that the file was not renamed or truncated",
      what, expected_magic);
  if (bytes.empty()) {
    throw UserError(fmt::format("{}: empty file: expected an IDX {} file starting with magic {}, found 0 bytes",
                                source, what, expected_magic),
                    "the file was not fully downloaded or extracted; re-download it");
  }
  if (bytes.size() < 4) {
    throw UserError(fmt::format("{}: truncated header: expected 4 magic bytes ({}), found only {} byte(s)",
                                source, expected_magic, bytes.size()),
                    kRedownloadHint);
  }
  const uint32_t magic = read_be32(bytes.data());
  if (bytes[0] == 0x1f && bytes[1] == 0x8b) {
    throw UserError(fmt::format("{}: wrong magic at byte offset 0: expected {}, found 0x{:08x} (a gzip header "
                                "inside the decompressed data)",
                                source, expected_magic, magic),
                    "the file is gzip-compressed twice; gunzip it once");
  }
  if (bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08) {
    std::string detail;
    if (bytes[0] == 0 && bytes[1] == 0) detail = fmt::format(" (element type 0x{:02x}, {}, not unsigned byte)", bytes[2], idx_type_name(bytes[2]));
    throw UserError(fmt::format("{}: wrong magic at byte offset 0: expected {} (IDX {}), found 0x{:08x}{}", source,
                                expected_magic, what, magic, detail),
                    hint_format);
  }
  if (bytes[3] != want_dims) {
    std::string hint = hint_format;
    if (magic == kIdxImagesMagic) hint = "this looks like an IDX image file; are the image and label files swapped?";
    if (magic == kIdxLabelsMagic) hint = "this looks like an IDX label file; are the image and label files swapped?";
    throw UserError(fmt::format("{}: wrong dimension count at byte offset 3 (magic {}): expected {} dimension(s) "
                                "for an IDX {} file, found {} (magic 0x{:08x})",
                                source, expected_magic, want_dims, what, bytes[3], magic),
                    hint);
  }
  const uint64_t header = 4 + 4 * static_cast<uint64_t>(want_dims);
  if (bytes.size() < header) {
    throw UserError(fmt::format("{}: truncated header: expected {} header bytes (magic + {} dimension sizes), "
                                "found {} bytes",
                                source, header, want_dims, bytes.size()),
                    kRedownloadHint);
  }
  std::vector<uint64_t> dims(want_dims);
  // Product of the dimensions in 128 bits: three uint32 factors cannot overflow it.
  unsigned __int128 payload = 1;
  std::string dims_text;
  for (int i = 0; i < want_dims; ++i) {
    dims[i] = read_be32(bytes.data() + 4 + 4 * i);
    payload *= dims[i];
    dims_text += (i ? "*" : "") + std::to_string(dims[i]);
  }
  for (int i = 1; i < want_dims; ++i) {
    if (dims[i] == 0) {
      throw UserError(fmt::format("{}: dimension {} at byte offset {} is 0: expected a positive size (dimensions {})",
                                  source, i, 4 + 4 * i, dims_text),
                      kRedownloadHint);
    }
  }
  const unsigned __int128 expected = payload + header;
  if (expected != bytes.size()) {
    std::string expected_text;
    if (expected > std::numeric_limits<uint64_t>::max()) {
      expected_text = "more than 2^64";
    } else {
      expected_text = std::to_string(static_cast<uint64_t>(expected));
    }
    throw UserError(fmt::format("{}: dimensions {} (byte offset 4) do not match the file size: expected {} bytes = "
                                "{} header + {}, found {} bytes",
                                source, dims_text, expected_text, header, dims_text, bytes.size()),
                    bytes.size() < expected ? kRedownloadHint
                                            : "the file has trailing data or a wrong header; re-download it");
  }
  return dims;
}

}  // namespace

std::vector<uint8_t> read_file_maybe_gzip(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) {
    throw UserError(fmt::format("{}: file not found", path), missing_data_hint(fs::path(path).parent_path().string(), ""));
  }
  if (fs::is_directory(status)) {
    throw UserError(fmt::format("{}: expected a file, found a directory", path), "point data.dir at the directory holding the files");
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    throw UserError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)), "check the file's permissions");
  }
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{f};
  std::vector<uint8_t> bytes;
  const uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > 0) bytes.reserve(size);
  uint8_t buf[1 << 16];
  for (;;) {
    const size_t got = std::fread(buf, 1, sizeof(buf), f);
    bytes.insert(bytes.end(), buf, buf + got);
    if (got < sizeof(buf)) break;
  }
  if (std::ferror(f)) {
    throw UserError(fmt::format("{}: read error after {} bytes: {}", path, bytes.size(), std::strerror(errno)));
  }
  return decode_maybe_gzip(std::move(bytes), path);
}

std::vector<uint8_t> decode_maybe_gzip(std::vector<uint8_t> bytes, const std::string& source) {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(bytes, source);
  return bytes;
}

torch::Tensor parse_idx_images(const std::vector<uint8_t>& bytes, const std::string& source) {
  const auto dims = parse_idx_header(bytes, source, kIdxImagesMagic, "image");
  const int64_t n = static_cast<int64_t>(dims[0]);
  const int64_t h = static_cast<int64_t>(dims[1]);
  const int64_t w = static_cast<int64_t>(dims[2]);
  // The size check above guarantees n*h*w bytes are really there: allocation is bounded by the file.
  torch::Tensor images = torch::empty({n, 1, h, w}, torch::kUInt8);
  if (n > 0) std::memcpy(images.data_ptr<uint8_t>(), bytes.data() + 16, static_cast<size_t>(n * h * w));
  return images;
}

torch::Tensor parse_idx_labels(const std::vector<uint8_t>& bytes, const std::string& source, int64_t num_classes) {
  NOSYNC_CHECK(num_classes > 0 && num_classes <= 256, "num_classes {}", num_classes);
  const auto dims = parse_idx_header(bytes, source, kIdxLabelsMagic, "label");
  const int64_t n = static_cast<int64_t>(dims[0]);
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  int64_t* out = labels.data_ptr<int64_t>();
  const uint8_t* in = bytes.data() + 8;
  for (int64_t i = 0; i < n; ++i) {
    if (in[i] >= num_classes) {
      throw UserError(fmt::format("{}: label {} at index {} (byte offset {}) is out of range: expected 0..{}", source,
                                  in[i], i, 8 + i, num_classes - 1),
                      "the label file is corrupt or belongs to a data set with more classes; re-download it");
    }
    out[i] = in[i];
  }
  return labels;
}

Dataset read_idx_split(const std::string& dir, const std::string& prefix) {
  check_data_dir(dir, "idx");
  const std::string images_path = find_data_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_data_file(dir, prefix + "-labels-idx1-ubyte");
  Dataset ds;
  ds.inputs = parse_idx_images(read_file_maybe_gzip(images_path), images_path);
  ds.labels = parse_idx_labels(read_file_maybe_gzip(labels_path), labels_path, kMaxIdxClasses);
  if (ds.inputs.size(0) != ds.labels.size(0)) {
    throw UserError(fmt::format("{} holds {} images but {} holds {} labels: expected the same count", images_path,
                                ds.inputs.size(0), labels_path, ds.labels.size(0)),
                    "the image and label files come from different data sets or one is truncated; re-download them");
  }
  // The classes are the labels' (0 .. the largest one): EMNIST has 26 or 47, MNIST 10.
  ds.num_classes = ds.size() > 0 ? ds.labels.max().item<int64_t>() + 1 : 0;
  ds.source = images_path;
  return ds;
}

}  // namespace nosync::data
