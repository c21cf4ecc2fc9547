set terminal pngcairo size 900,560
set output 'report/plots/claim4-speedup.png'
set xlabel 'workers (MPI ranks)'
set ylabel 'speed-up to target'
set grid
set key outside right
plot 'report/plots/claim4-speedup.ideal__cores_.dat' using 1:2 with linespoints title 'ideal (cores)', 'report/plots/claim4-speedup.local-sgd.dat' using 1:2 with linespoints title 'local-sgd', 'report/plots/claim4-speedup.nosync.dat' using 1:2 with linespoints title 'nosync', 'report/plots/claim4-speedup.sync.dat' using 1:2 with linespoints title 'sync'
set terminal svg size 900,560
set output 'report/plots/claim4-speedup.svg'
set xlabel 'workers (MPI ranks)'
set ylabel 'speed-up to target'
set grid
set key outside right
plot 'report/plots/claim4-speedup.ideal__cores_.dat' using 1:2 with linespoints title 'ideal (cores)', 'report/plots/claim4-speedup.local-sgd.dat' using 1:2 with linespoints title 'local-sgd', 'report/plots/claim4-speedup.nosync.dat' using 1:2 with linespoints title 'nosync', 'report/plots/claim4-speedup.sync.dat' using 1:2 with linespoints title 'sync'
