// The built-in token policy (./hazel --auth-secret-file PATH), written on
// the public policy API (hazel/policy.h) like any embedder's policy.
//
// Before a client authenticates it may only PING, HELLO and AUTH; every
// other request is DENIED. sys AUTH with an HS256 token (src/jwt.h) signed
// with one of the server's keys makes the token's `sub` the client's user
// until `exp`; after `exp` it is DENIED again until a fresh AUTH. What the
// token's claims allow, on the built-in services:
//
//   sys   PING, HELLO, AUTH always; RESOLVE, SERVICES, INFO once
//         authenticated; TELL only with "tell": true
//   echo  ECHO
//   kv    GET every key, or only keys under a "kv_read" prefix if the
//         token has kv_read; SET, INCR, DEL keys under a "kv" prefix
//   room  JOIN, PUBLISH, MEMBERS rooms that match a "rooms" pattern (a
//         pattern ending in * matches every name that starts with what is
//         before the *; any other pattern only itself); LEAVE any room
//
// An op of a built-in service not listed is DENIED (a new op is closed
// until this policy knows it). A body too malformed to name its key or
// room is let through: the service answers BAD_REQUEST without touching
// any data. Services other than the built-ins are open to every
// authenticated client: an embedder decides about its own with a policy
// of its own.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hazel/policy.h"

namespace hazel::services {

// Reads the key file: one key a line (surrounding blanks trimmed; empty
// lines and lines starting with # skipped), each at least kMinKeyBytes
// long. The first key signs (hazel-cli token); every key verifies, so a
// secret is rotated by adding the new key first and removing the old one
// once its tokens expired. Like ssh with a private key, it refuses a file
// that group or others may read or write, or that is owned by another user
// (root aside).
bool load_secret_file(const std::string& path, std::vector<std::string>* keys,
                      std::string* err);

// Whether `room` matches one of `patterns` (a trailing * is a wildcard).
bool room_allowed(const std::vector<std::string>& patterns, std::string_view room);
// Whether `key` starts with one of `prefixes` (a trailing * is allowed and
// means the same: "score:*" is the prefix "score:").
bool key_allowed(const std::vector<std::string>& prefixes, std::string_view key);

std::unique_ptr<Policy> make_token_policy(std::vector<std::string> keys);

}  // namespace hazel::services
