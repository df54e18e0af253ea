package pg2es.engines;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The security plugin's configuration files, from which it creates its
 * security index at the node's first start
 * (plugins.security.allow_default_init_securityindex): HTTP Basic
 * authentication against the internal users, one user "admin" mapped to
 * the built-in role all_access, nothing anonymous.  Every other user and
 * role is made by the tests through the security REST API.
 */
final class SecurityConfig {
    private static final Map<String, String> FILES = Map.of(
        "config.yml", """
            _meta:
              type: "config"
              config_version: 2
            config:
              dynamic:
                http:
                  anonymous_auth_enabled: false
                authc:
                  basic_internal_auth_domain:
                    http_enabled: true
                    transport_enabled: true
                    order: 0
                    http_authenticator:
                      type: basic
                      challenge: true
                    authentication_backend:
                      type: intern
            """,
        "roles.yml", meta("roles"),
        "roles_mapping.yml", meta("rolesmapping") + """
            all_access:
              reserved: false
              users:
              - "admin"
            """,
        "action_groups.yml", meta("actiongroups"),
        "tenants.yml", meta("tenants"),
        "nodes_dn.yml", meta("nodesdn"),
        "audit.yml", meta("audit") + "config:\n  enabled: false\n",
        "allowlist.yml", meta("allowlist") + "config:\n  enabled: false\n",
        "whitelist.yml", meta("whitelist") + "config:\n  enabled: false\n");

    private SecurityConfig() {
    }

    /** Writes every file into dir (which exists), admin's bcrypt hash included. */
    static void write(Path dir, String adminHash) throws IOException {
        for (Map.Entry<String, String> file : FILES.entrySet()) {
            Files.writeString(dir.resolve(file.getKey()), file.getValue(), StandardCharsets.UTF_8);
        }
        Files.writeString(dir.resolve("internal_users.yml"), meta("internalusers") + """
            admin:
              hash: "%s"
              reserved: false
              description: "pg2es test administrator"
            """.formatted(adminHash), StandardCharsets.UTF_8);
    }

    /** The _meta block every file of configuration version 2 begins with. */
    private static String meta(String type) {
        return "_meta:\n  type: \"" + type + "\"\n  config_version: 2\n";
    }
}
