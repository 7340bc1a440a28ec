package fortress.core.rpc;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** A marshaller that leaves messages as the bytes on the wire, for hops that forward without parsing. */
public enum RawBytes implements MethodDescriptor.Marshaller<byte[]> {
  /** Any bytes. */
  INSTANCE,
  /**
   * Bytes that are well-formed protobuf: a sequence of fields, each with a valid tag, a known wire
   * type and its full length. Anything else fails as a typed marshaller fails (INTERNAL, "Invalid
   * protobuf byte sequence"), so a garbled answer is the sender's failure, not the reader's. The
   * check reads no field's content: a nested message is not checked.
   */
  WELL_FORMED {
    @Override
    public byte[] parse(InputStream stream) {
      byte[] bytes = INSTANCE.parse(stream);
      try {
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
          if (!in.skipField(tag)) {
            throw new InvalidProtocolBufferException("an end-group tag outside a group");
          }
        }
      } catch (InvalidProtocolBufferException e) {
        throw Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e).asRuntimeException();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return bytes;
    }
  };

  @Override
  public InputStream stream(byte[] value) {
    return new ByteArrayInputStream(value);
  }

  @Override
  public byte[] parse(InputStream stream) {
    try {
      return stream.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
