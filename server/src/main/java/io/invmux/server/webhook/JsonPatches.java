package io.invmux.server.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The RFC 6902 JSON patch that turns one pod into another, at the granularity of the fields of {@code metadata}
 * and {@code spec}: a changed field is replaced whole ({@code add} on an existing member replaces it), so the patch
 * stays short and never depends on list indexes another webhook may have shifted.
 */
final class JsonPatches {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final List<String> SECTIONS = List.of("metadata", "spec");

    private JsonPatches() {
    }

    static ArrayNode diff(JsonNode before, JsonNode after) {
        ArrayNode ops = F.arrayNode();
        for (String section : SECTIONS) {
            JsonNode b = before.path(section);
            JsonNode a = after.path(section);
            if (b.equals(a)) {
                continue;
            }
            if (!b.isObject()) {
                ops.add(F.objectNode().put("op", "add").put("path", "/" + section).set("value", a));
                continue;
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = a.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().equals(b.get(e.getKey()))) {
                    ops.add(op("add", section, e.getKey()).set("value", e.getValue()));
                }
            }
            for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!a.has(name)) {
                    ops.add(op("remove", section, name));
                }
            }
        }
        return ops;
    }

    private static ObjectNode op(String op, String section, String field) {
        // RFC 6901: '~' and '/' in a member name are escaped ("invmux.io/injected" -> "invmux.io~1injected")
        return F.objectNode().put("op", op).put("path", "/" + section + "/" + field.replace("~", "~0")
                .replace("/", "~1"));
    }
}
