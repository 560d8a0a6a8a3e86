#include "tools/import/ids.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

namespace tributary::tools::import {
namespace {

struct DigestContextDeleter {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

std::string Hex(const unsigned char* data, size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[data[i] >> 4]);
        out.push_back(kDigits[data[i] & 15]);
    }
    return out;
}

std::string Sha256Of(std::initializer_list<std::string_view> parts) {
    std::unique_ptr<EVP_MD_CTX, DigestContextDeleter> context(EVP_MD_CTX_new());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 is not available");
    }
    for (const std::string_view part : parts) {
        if (EVP_DigestUpdate(context.get(), part.data(), part.size()) != 1) {
            throw std::runtime_error("SHA-256 update failed");
        }
    }
    if (EVP_DigestFinal_ex(context.get(), digest, &length) != 1) {
        throw std::runtime_error("SHA-256 final failed");
    }
    return Hex(digest, length);
}

}  // namespace

std::string Sha256Hex(std::string_view data) { return Sha256Of({data}); }

FileIdentity IdentifyFile(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(info.st_mode)) throw std::runtime_error(path + " is not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    std::vector<char> head(kHeadBytes);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    const auto read = static_cast<size_t>(in.gcount());
    in.clear();
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0) throw std::runtime_error("cannot tell the size of " + path);
    return {Sha256Hex(std::string_view(head.data(), read)), static_cast<int64_t>(size)};
}

std::string DeterministicEventId(std::string_view head_sha256, int64_t number,
                                 std::string_view content) {
    const std::string position = std::to_string(number);
    // The separators keep ("ab", 1, "2") and ("ab", 12, "") apart.
    const std::string digest = Sha256Of({head_sha256, "\n", position, "\n", content});
    return "imp-" + std::string(head_sha256.substr(0, 16)) + "-" + position + "-" +
           digest.substr(0, 12);
}

}  // namespace tributary::tools::import
