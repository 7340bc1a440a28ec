package fortress.proxy.redis;

/**
 * Redis key names. Identifiers may contain ':', so the tenant is length-prefixed: no two
 * (tenant, account) pairs share a key.
 */
final class Keys {
  private Keys() {}

  static String bucket(String tenant) {
    return "fortress:rate:" + tenant;
  }

  static String account(String tenant, String accountId) {
    return "fortress:account:" + tenant.length() + ":" + tenant + ":" + accountId;
  }
}
