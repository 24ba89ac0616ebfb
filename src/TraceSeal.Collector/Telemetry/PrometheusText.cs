using System.Globalization;
using System.Text;

namespace TraceSeal.Collector.Telemetry;

/// <summary>
/// Writes the Prometheus text exposition format 0.0.4: a HELP and TYPE line per family, then one sample
/// per label set. Label values are escaped (backslash, double quote, newline) as the format requires.
/// </summary>
internal sealed class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new(4096);

    public void Family(string name, string type, string help)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    /// <summary>One sample; <paramref name="labels"/> alternate name, value, name, value.</summary>
    public void Sample(string name, double value, params ReadOnlySpan<string> labels)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (int i = 0; i + 1 < labels.Length; i += 2)
            {
                if (i > 0)
                {
                    _text.Append(',');
                }

                _text.Append(labels[i]).Append("=\"");
                AppendEscaped(labels[i + 1]);
                _text.Append('"');
            }

            _text.Append('}');
        }

        _text.Append(' ').Append(Format(value)).Append('\n');
    }

    public override string ToString() => _text.ToString();

    internal static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private void AppendEscaped(string value)
    {
        foreach (char c in value)
        {
            _ = c switch
            {
                '\\' => _text.Append("\\\\"),
                '"' => _text.Append("\\\""),
                '\n' => _text.Append("\\n"),
                _ => _text.Append(c),
            };
        }
    }
}
