#include "bus/broker_users.h"

#include <nlohmann/json.hpp>
#include <set>

#include "bus/amqp_bus.h"
#include "bus/nats_bus.h"

namespace ordersd::bus {

BrokerPermissions broker_permissions(Role role) {
  const std::string stream = kStreamName;
  const std::string api = "$JS.API.";
  Roles roles = Roles::of(role);
  BrokerPermissions p;
  for (const auto& kind : roles.written_kinds()) {
    p.publish.push_back(subject_of_kind(kind));
    p.publish.push_back(subject_of_kind(kind) + ".*");  // with shards, a route follows (shards.h)
  }
  // Any process may be the first to start: each looks the stream up and
  // creates it when missing (a create of the stream as it is changes nothing).
  p.publish.push_back(api + "STREAM.INFO." + stream);
  p.publish.push_back(api + "STREAM.CREATE." + stream);
  if (!roles.read_kinds().empty()) {
    // A durable pull consumer per kind read: looked up, created when missing
    // (cnats 3.4 creates through CONSUMER.DURABLE.CREATE, whose subject does
    // not name the filter), fetched from and acknowledged. Consumer names
    // (`{node}-{kind}`) are one token each, so none of these can be narrowed
    // to this role's consumers or kinds.
    p.publish.push_back(api + "CONSUMER.INFO." + stream + ".*");
    p.publish.push_back(api + "CONSUMER.DURABLE.CREATE." + stream + ".*");
    p.publish.push_back(api + "CONSUMER.MSG.NEXT." + stream + ".*");
    p.publish.push_back("$JS.ACK." + stream + ".>");
  }
  p.subscribe.push_back(inbox_prefix_of(role_name(role)) + ".>");
  return p;
}

std::string nats_authorization(const std::vector<BrokerUser>& users, const std::string& header) {
  // JSON's quoted strings are nats-server config strings: a quoted "$2b$..."
  // is the hash itself, never a $variable.
  auto list = [](const std::vector<std::string>& subjects) {
    std::string out = "[";
    for (size_t i = 0; i < subjects.size(); ++i) out += (i ? ", " : "") + nlohmann::json(subjects[i]).dump();
    return out + "]";
  };
  std::string out = header;
  out += "authorization {\n  users = [\n";
  for (const auto& u : users) {
    out += "    {\n";
    out += "      user: " + nlohmann::json(u.name).dump() + "\n";
    out += "      password: " + nlohmann::json(u.password).dump() + "\n";
    out += "      permissions: {\n";
    out += "        publish: { allow: " + list(u.permissions.publish) + " }\n";
    out += "        subscribe: { allow: " + list(u.permissions.subscribe) + " }\n";
    out += "      }\n";
    out += "    }\n";
  }
  out += "  ]\n}\n";
  return out;
}

namespace {

// "(wallet|saga)": one of these kinds (plain words, nothing to escape).
std::string alternatives(const std::set<std::string>& kinds) {
  std::string out;
  for (const auto& k : kinds) out += (out.empty() ? "" : "|") + k;
  return "(" + out + ")";
}

}  // namespace

RabbitPermissions rabbitmq_permissions(Role role) {
  Roles roles = Roles::of(role);
  const std::set<std::string> written = roles.written_kinds(), read = roles.read_kinds();
  const std::string nothing = "^$";
  // Exchanges are "ordersd.{kind}", streams "ordersd.{kind}.stream" (amqp_bus.h).
  std::string own_both = written.empty() ? "" : alternatives(written) + "(\\.stream)?";
  std::string own_exchanges = written.empty() ? "" : alternatives(written);
  std::string read_streams = read.empty() ? "" : alternatives(read) + "\\.stream";
  auto any_of = [&](std::vector<std::string> parts) {
    std::string inner;
    for (const auto& p : parts) {
      if (!p.empty()) inner += (inner.empty() ? "" : "|") + p;
    }
    return inner.empty() ? nothing : "^ordersd\\.(" + inner + ")$";
  };
  RabbitPermissions p;
  p.configure = any_of({own_both, read_streams});
  p.write = any_of({own_both});
  p.read = any_of({own_exchanges, read_streams});
  return p;
}

std::string rabbitmq_definitions(const std::vector<RabbitUser>& users) {
  nlohmann::ordered_json d;
  d["vhosts"] = nlohmann::ordered_json::array({{{"name", "/"}}});
  nlohmann::ordered_json list = nlohmann::ordered_json::array(), permissions = nlohmann::ordered_json::array();
  for (const auto& u : users) {
    list.push_back({{"name", u.name},
                    {"password_hash", u.password_hash},
                    {"hashing_algorithm", "rabbit_password_hashing_sha256"},
                    {"tags", nlohmann::ordered_json::array()}});
    permissions.push_back({{"user", u.name},
                           {"vhost", "/"},
                           {"configure", u.permissions.configure},
                           {"write", u.permissions.write},
                           {"read", u.permissions.read}});
  }
  d["users"] = std::move(list);
  d["permissions"] = std::move(permissions);
  return d.dump(2) + "\n";
}

}  // namespace ordersd::bus
