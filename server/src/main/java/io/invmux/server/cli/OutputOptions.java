package io.invmux.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code -o table|json|yaml} of the operator commands. JSON and YAML are the API's own messages in the proto3 JSON
 * mapping (lowerCamelCase field names, enums by name, 64-bit integers as strings, durations as {@code "0.012s"}),
 * every field present even when zero, so scripts can rely on the field names as the proto defines them.
 */
public final class OutputOptions {
    /** How a command prints what the sidecar answered. */
    enum Format {
        TABLE, JSON, YAML;

        String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final JsonFormat.Printer PROTO_JSON = JsonFormat.printer().alwaysPrintFieldsWithNoPresence()
            .omittingInsignificantWhitespace();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .build();

    @Option(names = {"-o", "--output"}, defaultValue = "table", converter = FormatConverter.class,
            completionCandidates = FormatNames.class, paramLabel = "FORMAT",
            description = "Output format: table (default), json or yaml (the API's messages, proto3 JSON field names).")
    Format format = Format.TABLE;

    boolean isTable() {
        return format == Format.TABLE;
    }

    /** The message as a JSON tree, in the proto3 JSON mapping. */
    static ObjectNode tree(MessageOrBuilder message) {
        try {
            return (ObjectNode) JSON.readTree(PROTO_JSON.print(message));
        } catch (InvalidProtocolBufferException | JsonProcessingException e) {
            throw new IllegalStateException("cannot render " + message.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** {@code {"<field>": [message, ...]}}: a list the command gathered, perhaps over several pages. */
    static ObjectNode list(String field, List<? extends MessageOrBuilder> messages) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode items = root.putArray(field);
        messages.forEach(m -> items.add(tree(m)));
        return root;
    }

    static ObjectNode object() {
        return JSON.createObjectNode();
    }

    /** One document: indented JSON, or a YAML document; ends with a newline. */
    String render(JsonNode node) {
        try {
            return switch (format) {
                case JSON -> JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n";
                case YAML -> YAML.writeValueAsString(node);
                case TABLE -> throw new IllegalStateException("a table is rendered by its command");
            };
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * One item of a stream of documents: JSON on a single line (JSON Lines), or a YAML document starting with
     * {@code ---}, so a reader can take the items one by one as they come.
     */
    String renderItem(JsonNode node) {
        try {
            return format == Format.JSON ? JSON.writeValueAsString(node) + "\n" : YAML.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Parses {@code table}, {@code json} or {@code yaml}, any case. */
    static final class FormatConverter implements ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            for (Format f : Format.values()) {
                if (f.configName().equals(value.toLowerCase(Locale.ROOT))) {
                    return f;
                }
            }
            throw new TypeConversionException("'" + value + "' must be one of table, json, yaml");
        }
    }

    /** The names shell completion offers. */
    static final class FormatNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of("table", "json", "yaml").iterator();
        }
    }
}
