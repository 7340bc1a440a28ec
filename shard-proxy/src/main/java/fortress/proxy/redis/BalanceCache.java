package fortress.proxy.redis;

import fortress.ledger.v1.Account;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * GetAccount answers kept in Redis for {@code ttlMs}. Every account a mutation through the proxy
 * returns is written through after the node committed it, and a write lands only if its journal
 * sequence is newer than the cached one (one Lua script), so a late write never puts back an
 * older balance. Changes a node makes by itself (a hold expiring, the credit of a cross-node
 * transfer) show once the entry expires. With Redis down, every read goes to the node.
 */
public final class BalanceCache {
  private static final AttributeKey<String> RESULT = AttributeKey.stringKey("result");
  private static final Attributes HIT = Attributes.of(RESULT, "hit");
  private static final Attributes MISS = Attributes.of(RESULT, "miss");
  private static final Attributes UNAVAILABLE = Attributes.of(RESULT, "unavailable");

  private final RedisStore redis;
  private final long ttlMs;
  private final LongCounter lookups;
  private final Fallback fallback;

  public BalanceCache(RedisStore redis, long ttlMs, Meter meter) {
    this.redis = redis;
    this.ttlMs = ttlMs;
    this.lookups = meter.counterBuilder("fortress.proxy.cache.lookups").setUnit("{lookup}")
        .setDescription("GetAccount cache lookups, by result: hit, miss, or unavailable (Redis down)").build();
    this.fallback = new Fallback(meter, "cache", "reading every balance from its node",
        "the balance cache is on again");
  }

  /** The cached account, or empty on a miss or when Redis cannot answer. */
  public CompletableFuture<Optional<Account>> get(String tenant, String accountId) {
    if (!redis.connected()) {
      unavailable("not connected");
      return CompletableFuture.completedFuture(Optional.empty());
    }
    return redis.hashFields(Keys.account(tenant, accountId)).handle((fields, e) -> {
      if (e != null) {
        unavailable(e.toString());
        return Optional.empty();
      }
      fallback.answered();
      Optional<Account> account = parse(fields);
      lookups.add(1, account.isPresent() ? HIT : MISS);
      return account;
    });
  }

  /** Writes the account through, unless the cache holds its sequence or a newer one. Never fails the call. */
  public void put(Account a) {
    if (!redis.connected() || a.getAccountId().isEmpty()) {
      return;
    }
    redis.eval(RedisStore.CACHE_PUT, Keys.account(a.getTenantId(), a.getAccountId()), Long.toString(a.getSequence()),
        Base64.getEncoder().encodeToString(a.toByteArray()), Long.toString(ttlMs))
        .whenComplete((v, e) -> {
          if (e != null) {
            fallback.fellBack(e.toString());
          }
        });
  }

  private static Optional<Account> parse(Map<String, String> fields) {
    String encoded = fields == null ? null : fields.get("account");
    if (encoded == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Account.parseFrom(Base64.getDecoder().decode(encoded)));
    } catch (com.google.protobuf.InvalidProtocolBufferException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private void unavailable(String why) {
    lookups.add(1, UNAVAILABLE);
    fallback.fellBack(why);
  }
}
