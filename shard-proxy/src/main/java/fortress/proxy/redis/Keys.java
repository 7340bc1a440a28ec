package fortress.proxy.redis;

/** Redis key names. */
final class Keys {
  private Keys() {}

  static String bucket(String tenant) {
    return "fortress:rate:" + tenant;
  }
}
