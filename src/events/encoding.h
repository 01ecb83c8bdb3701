// Bytes as text: lowercase hex, base64url (RFC 4648 section 5, no padding)
// and percent-encoding, one implementation for every digest, cursor, token,
// key and URL part the project prints or reads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ordersd {

std::string to_hex(std::string_view bytes);  // lowercase
// Lowercase hex of even length back to bytes; nullopt otherwise.
std::optional<std::string> from_hex(std::string_view text);

std::string base64url(std::string_view bytes);  // no padding
// Strict: any character outside the alphabet, a "=", an impossible length or
// non-zero unused bits is refused, so each byte string has exactly one
// encoding (a JWT's parts, say, cannot be altered without changing bytes).
std::optional<std::string> base64url_decode(std::string_view text);

// "%2F" -> "/" (either case of hex digit); malformed escapes stay as they
// are, and "+" is not a space: URL paths, query parameters, broker URLs.
std::string percent_decode(std::string_view text);

}  // namespace ordersd
