package dev.atlas.storage;

import io.netty.buffer.ByteBuf;
import java.util.Objects;

/**
 * A whole object read together with the version it was read at ({@link Storage#getIfChanged}).
 *
 * @param info the object's key, size and version; {@code content} holds exactly {@code info.size()} bytes
 * @param content owned by whoever receives this record, who must release it
 */
public record StoredObject(ObjectInfo info, ByteBuf content) {
    public StoredObject {
        Objects.requireNonNull(info, "info");
        Objects.requireNonNull(content, "content");
    }
}
