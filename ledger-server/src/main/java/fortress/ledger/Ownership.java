package fortress.ledger;

import fortress.cluster.v1.RingNode;
import fortress.core.ring.HoldIds;
import fortress.core.ring.Ring;
import fortress.core.ring.RingFile;
import fortress.ledger.v1.ErrorReason;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Which accounts this node owns under the ring in force. A node without a ring file owns every
 * account (a standalone node). Before refusing an account the node reads the ring file again, in
 * case membership changed; a refusal is WRONG_NODE naming the owner and the epoch.
 */
public final class Ownership {
  private final String nodeId;
  private final RingFile ring;

  public Ownership(String nodeId, RingFile ring) {
    this.nodeId = nodeId;
    this.ring = ring;
  }

  public static Ownership standalone(String nodeId) {
    return new Ownership(nodeId, null);
  }

  public String nodeId() {
    return nodeId;
  }

  /** The ring file, or null for a standalone node. */
  public RingFile ring() {
    return ring;
  }

  /** The node owning an account: this node's id when standalone. */
  public String owner(String tenantId, String accountId) {
    return ring == null ? nodeId : ownerOf(Ring.keyHash(tenantId, accountId));
  }

  public boolean local(String tenantId, String accountId) {
    return owner(tenantId, accountId).equals(nodeId);
  }

  /** WRONG_NODE if another node owns the account, else null. */
  public Rejection refuse(String tenantId, String accountId) {
    return ring == null ? null : refuse(Ring.keyHash(tenantId, accountId), "account " + accountId);
  }

  /** WRONG_NODE if another node owns the hold's account, else null (also for ids no node issued). */
  public Rejection refuseHold(String holdId) {
    OptionalLong hash = HoldIds.keyHash(holdId);
    return ring == null || hash.isEmpty() ? null : refuse(hash.getAsLong(), "hold " + holdId);
  }

  private String ownerOf(long keyHash) {
    String owner = ring.current().owner(keyHash).getNodeId();
    return owner.equals(nodeId) ? owner : ring.refresh().owner(keyHash).getNodeId();
  }

  private Rejection refuse(long keyHash, String what) {
    String owner = ownerOf(keyHash);
    if (owner.equals(nodeId)) {
      return null;
    }
    Ring current = ring.current();
    String address = current.node(owner).map(RingNode::getAddress).orElse("");
    return new Rejection(ErrorReason.WRONG_NODE, what + " belongs to node " + owner + " under ring epoch "
        + current.epoch() + ", not to " + nodeId,
        Map.of("owner", owner, "owner_address", address, "epoch", Long.toString(current.epoch())));
  }
}
