using CliWrap;
using CliWrap.Buffered;

namespace CloudApp.Tests;

/// <summary>Runs another program to completion for a test, bounded in time, with its output captured.</summary>
internal static class ExternalProgram
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\n{Output}\n{Error}";
    }

    /// <summary>
    /// Runs <paramref name="fileName"/> in <paramref name="workingDirectory"/> (default: the repository root);
    /// <paramref name="environment"/> values of null remove a variable. A run past <paramref name="timeout"/> is killed.
    /// </summary>
    public static async Task<Result> RunAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var result = await Cli.Wrap(fileName)
                .WithArguments(arguments)
                .WithWorkingDirectory(workingDirectory ?? RepositoryRoot.Path)
                .WithEnvironmentVariables(variables =>
                {
                    foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) variables.Set(key, value);
                })
                .WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(cts.Token);
            return new Result(result.ExitCode, result.StandardOutput, result.StandardError);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds:0} s");
        }
    }
}
