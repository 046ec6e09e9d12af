package aimos.access.token;

/**
 * Who made a request on the admin API: a configured bootstrap token, an issued admin token, or a tenant's admin key.
 *
 * @param name     what audit records show: the token's name, {@code config:admin-token}, or {@code tenant:<id>/<key>}
 * @param tokenId  the issued token's id, or "" for configured tokens and tenant keys
 * @param tenantId the tenant a {@link Role#TENANT_ADMIN} principal is confined to, else ""
 */
public record Principal(String name, String tokenId, Role role, String tenantId) {
  public static Principal configured(String setting, Role role) {
    return new Principal("config:" + setting, "", role, "");
  }

  public static Principal tenantAdmin(String tenantId, String keyId) {
    return new Principal("tenant:" + tenantId + "/" + keyId, "", Role.TENANT_ADMIN, tenantId);
  }
}
