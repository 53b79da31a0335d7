using System.Text.Json;
using System.Text.Json.Serialization;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>What a kernel computed: a whole number, a floating-point number or a text (a digest), written as a JSON number or string.</summary>
// A kernel returns one of the three (the conversions are implicit) and the value writes itself, so the trimmed
// service serializes any kernel's result without its type being named anywhere else.
[JsonConverter(typeof(KernelResultConverter))]
public readonly record struct KernelResult
{
    private readonly long _integer;
    private readonly double _real;
    private readonly string? _text;
    private readonly Kind _kind;

    private KernelResult(Kind kind, long integer = 0, double real = 0, string? text = null) =>
        (_kind, _integer, _real, _text) = (kind, integer, real, text);

    private enum Kind
    {
        Integer,
        Real,
        Text,
    }

    public static implicit operator KernelResult(long value) => new(Kind.Integer, integer: value);

    public static implicit operator KernelResult(double value) => new(Kind.Real, real: value);

    public static implicit operator KernelResult(string value) => new(Kind.Text, text: value ?? throw new ArgumentNullException(nameof(value)));

    public static explicit operator long(KernelResult result) => result._kind == Kind.Integer ? result._integer : throw Mismatch(result, "a whole number");

    public static explicit operator double(KernelResult result) => result._kind == Kind.Real ? result._real : throw Mismatch(result, "a floating-point number");

    public static explicit operator string(KernelResult result) => result._kind == Kind.Text ? result._text! : throw Mismatch(result, "a text");

    public override string ToString() => _kind switch
    {
        Kind.Integer => _integer.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Kind.Real => _real.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => _text!,
    };

    private static InvalidCastException Mismatch(KernelResult result, string wanted) => new($"The result {result} is not {wanted}.");

    internal sealed class KernelResultConverter : JsonConverter<KernelResult>
    {
        public override KernelResult Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString()!,
            JsonTokenType.Number when reader.TryGetInt64(out var integer) => integer,
            JsonTokenType.Number => reader.GetDouble(),
            _ => throw new JsonException("A kernel's result is a number or a string."),
        };

        public override void Write(Utf8JsonWriter writer, KernelResult value, JsonSerializerOptions options)
        {
            switch (value._kind)
            {
                case Kind.Integer: writer.WriteNumberValue(value._integer); break;
                case Kind.Real: writer.WriteNumberValue(value._real); break;
                default: writer.WriteStringValue(value._text); break;
            }
        }
    }
}
