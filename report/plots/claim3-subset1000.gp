set terminal pngcairo size 900,560
set output 'report/plots/claim3-subset1000.png'
set xlabel 'epochs of the 1,000-sample subset'
set ylabel 'test accuracy (seed 0, worker 0)'
set grid
set key outside right
plot 'report/plots/claim3-subset1000.single_worker.dat' using 1:2 with linespoints title 'single worker', 'report/plots/claim3-subset1000.sync_2_workers.dat' using 1:2 with linespoints title 'sync 2 workers', 'report/plots/claim3-subset1000.NoSync_2_particles.dat' using 1:2 with linespoints title 'NoSync 2 particles'
set terminal svg size 900,560
set output 'report/plots/claim3-subset1000.svg'
set xlabel 'epochs of the 1,000-sample subset'
set ylabel 'test accuracy (seed 0, worker 0)'
set grid
set key outside right
plot 'report/plots/claim3-subset1000.single_worker.dat' using 1:2 with linespoints title 'single worker', 'report/plots/claim3-subset1000.sync_2_workers.dat' using 1:2 with linespoints title 'sync 2 workers', 'report/plots/claim3-subset1000.NoSync_2_particles.dat' using 1:2 with linespoints title 'NoSync 2 particles'
