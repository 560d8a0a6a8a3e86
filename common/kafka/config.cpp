#include "common/kafka/config.hpp"

#include <cctype>

namespace tributary::common::kafka {

KafkaSettings ReadKafkaSettings(EnvReader& env) {
    KafkaSettings settings;
    settings.bootstrap_servers = env.String("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers);
    settings.topic_partitions =
        static_cast<int>(env.Int("KAFKA_TOPIC_PARTITIONS", settings.topic_partitions, 1, 10000));
    settings.replication_factor =
        static_cast<int>(env.Int("KAFKA_REPLICATION_FACTOR", settings.replication_factor, 1, 16));
    settings.topic_prefix = env.String("KAFKA_TOPIC_PREFIX", "");
    for (const char c : settings.topic_prefix) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
            env.AddProblem("KAFKA_TOPIC_PREFIX='" + settings.topic_prefix +
                           "' may contain only letters, digits and . _ -");
            break;
        }
    }
    const std::string extra = env.String("KAFKA_PROPERTIES", "");
    size_t start = 0;
    while (start < extra.size()) {
        size_t end = extra.find(';', start);
        if (end == std::string::npos) end = extra.size();
        const std::string item = extra.substr(start, end - start);
        if (!item.empty()) {
            const auto eq = item.find('=');
            if (eq == std::string::npos || eq == 0) {
                env.AddProblem("KAFKA_PROPERTIES entry '" + item + "' is not key=value");
            } else {
                settings.extra[item.substr(0, eq)] = item.substr(eq + 1);
            }
        }
        start = end + 1;
    }
    return settings;
}

void SetConf(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
    std::string error;
    if (conf.set(key, value, error) != RdKafka::Conf::CONF_OK) {
        throw KafkaError("librdkafka refused " + key + ": " + error, false);
    }
}

std::unique_ptr<RdKafka::Conf> MakeConf(const std::map<std::string, std::string>& properties) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    for (const auto& [key, value] : properties) SetConf(*conf, key, value);
    return conf;
}

}  // namespace tributary::common::kafka
