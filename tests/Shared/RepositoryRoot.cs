namespace CloudApp.Tests;

/// <summary>The checkout the tests run from: the folder holding CloudApp.sln above the test binaries.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "CloudApp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("CloudApp.sln not found above the test binaries.");
    }
}
